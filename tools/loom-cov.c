/*
 * loom-cov: look at, compare, merge and convert coverage files (drcov,
 * modoff, loom's bitmap; lcov as an output).  All the format knowledge is
 * in src/instrument/covfile.c; this is the command line around it.
 *
 * Exit status: 0 done, 1 an input or output file is the problem (one line
 * "loom-cov: FILE: what is wrong" on stderr), 2 the command line is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "instrument/covfile.h"

static const char usage_text[] =
	"usage: loom-cov summary FILE\n"
	"       loom-cov diff BASE NEW\n"
	"       loom-cov merge FILE... -o OUT [--format FMT] [bitmap options]\n"
	"       loom-cov export --format FMT FILE -o OUT [--module NAME] [bitmap options]\n"
	"                       [--test-name NAME]\n"
	"       loom-cov --help\n";

static const char help_text[] =
	"\n"
	"Reads drcov (DynamoRIO's format, as Lighthouse and drcov2lcov read it),\n"
	"modoff ('module+0xoffset' lines) and loom bitmap files; the format of\n"
	"an input is detected from its contents.\n"
	"\n"
	"  summary FILE     modules with their block counts and bytes, and totals\n"
	"  diff BASE NEW    blocks in NEW and not in BASE, one 'module+0xoffset'\n"
	"                   per line, sorted (LC_ALL=C order); modules match by\n"
	"                   path, or by name where a file has no paths (modoff)\n"
	"  merge FILE...    the union of the files' blocks, written to OUT\n"
	"                   (format drcov unless --format says otherwise)\n"
	"  export FILE      FILE converted to --format FMT, written to OUT\n"
	"\n"
	"  -o OUT               the output file (written atomically)\n"
	"  --format FMT         drcov, modoff, lcov or bitmap\n"
	"  --module NAME        bitmap over a module (its path or modoff name);\n"
	"                       other formats: export that module alone\n"
	"  --range START-END    bitmap over [START, END): offsets within --module,\n"
	"                       or absolute addresses without it\n"
	"  --granularity N      bytes per bitmap bit (default 16)\n"
	"  --test-name NAME     lcov's TN: field\n"
	"  --file PATH          with --module: where that module's file is on this\n"
	"                       machine (a loom-system recording names the guest's\n"
	"                       path); the output names PATH, lcov reads its lines\n"
	"\n"
	"lcov output needs each module's file with its DWARF line table on this\n"
	"machine; modules without one are skipped with a note on stderr.\n"
	"Exit status: 0 success, 1 bad input or output, 2 bad usage.\n";

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "loom-cov: %s\n", why);
	fputs(usage_text, stderr);
	return 2;
}

struct args {
	const char *files[256];
	int nfiles;
	const char *out;
	int format;			/* -1: not given */
	struct cov_write_opts wopts;
	bool range;
	const char *host_file;		/* --file: the exported module's file here */
};

static bool parse_num(const char *s, uint64_t *v)
{
	char *end;
	if (!*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && !*end;
}

/* Options may come anywhere after the subcommand; returns 0 or 2. */
static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->format = -1;
	a->wopts.note_prefix = "loom-cov: note: ";
	for (int i = 0; i < argc; i++) {
		char *arg = argv[i], *val = NULL;
		char opt[32];
		if (arg[0] != '-' || !arg[1]) {
			if (a->nfiles == 256)
				return usage("too many files");
			a->files[a->nfiles++] = arg;
			continue;
		}
		if (!strcmp(arg, "--")) {
			for (i++; i < argc && a->nfiles < 256; i++)
				a->files[a->nfiles++] = argv[i];
			continue;
		}
		snprintf(opt, sizeof(opt), "%s", arg);
		char *eq = strchr(opt, '=');
		if (eq && !strncmp(arg, "--", 2)) {
			*eq = '\0';
			val = arg + (eq - opt) + 1;
		}
		bool known = !strcmp(opt, "-o") || !strcmp(opt, "--format") ||
			     !strcmp(opt, "--module") || !strcmp(opt, "--range") ||
			     !strcmp(opt, "--granularity") || !strcmp(opt, "--test-name") ||
			     !strcmp(opt, "--file");
		if (!known) {
			fprintf(stderr, "loom-cov: unknown option '%s'\n", arg);
			return usage(NULL);
		}
		if (!val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "loom-cov: %s needs a value\n", opt);
				return usage(NULL);
			}
			val = argv[++i];
		}
		if (!strcmp(opt, "-o")) {
			a->out = val;
		} else if (!strcmp(opt, "--format")) {
			a->format = cov_format_parse(val);
			if (a->format < 0) {
				fprintf(stderr, "loom-cov: unknown format '%s' "
					"(drcov, modoff, lcov, bitmap)\n", val);
				return 2;
			}
		} else if (!strcmp(opt, "--module")) {
			a->wopts.module = val;
		} else if (!strcmp(opt, "--file")) {
			a->host_file = val;
		} else if (!strcmp(opt, "--range")) {
			char buf[128], *dash;
			snprintf(buf, sizeof(buf), "%s", val);
			dash = strchr(buf, '-');
			if (!dash || (*dash = '\0', !parse_num(buf, &a->wopts.start)) ||
			    !parse_num(dash + 1, &a->wopts.end) || a->wopts.end <= a->wopts.start) {
				fprintf(stderr, "loom-cov: --range wants START-END with START < END\n");
				return 2;
			}
			a->range = true;
		} else if (!strcmp(opt, "--granularity")) {
			uint64_t g;
			if (!parse_num(val, &g) || !g || g > 1u << 30) {
				fprintf(stderr, "loom-cov: --granularity wants a positive number\n");
				return 2;
			}
			a->wopts.granularity = (unsigned)g;
		} else {
			a->wopts.test_name = val;
		}
	}
	return 0;
}

static int write_out(struct cov_model *m, struct args *a, int fmt)
{
	char err[1024];
	if (fmt == COV_BITMAP && !a->wopts.module && !a->range)
		return usage("bitmap output needs --module NAME or --range START-END");
	if (cov_write(m, fmt, a->out, &a->wopts, err, sizeof(err)) < 0) {
		fprintf(stderr, "loom-cov: %s\n", err);
		return 1;
	}
	return 0;
}

static struct cov_model *load(const char *path)
{
	char err[1024];
	struct cov_model *m = cov_read(path, err, sizeof(err));
	if (!m)
		fprintf(stderr, "loom-cov: %s\n", err);
	return m;
}

static int cmd_summary(struct args *a)
{
	if (a->nfiles != 1 || a->out || a->format >= 0)
		return usage("summary takes one FILE and no options");
	struct cov_model *m = load(a->files[0]);
	if (!m)
		return 1;
	uint64_t *blocks = calloc(m->nmods + 1, sizeof(*blocks));
	uint64_t *bytes = calloc(m->nmods + 1, sizeof(*bytes));
	uint64_t tbytes = 0, thits = 0;
	int width = 6;
	if (!blocks || !bytes) {
		fprintf(stderr, "loom-cov: %s: out of memory\n", a->files[0]);
		return 1;
	}
	for (size_t i = 0; i < m->nblocks; i++) {
		blocks[m->blocks[i].mod]++;
		bytes[m->blocks[i].mod] += m->blocks[i].size;
		tbytes += m->blocks[i].size;
		thits += m->blocks[i].hits;
	}
	for (size_t i = 0; i < m->nmods; i++) {
		const char *n = cov_module_name(m, i);
		if (n && (int)strlen(n) > width)
			width = (int)strlen(n);
	}
	printf("file: %s\nformat: %s\nmodules: %zu\n", a->files[0],
	       cov_format_name(m->format), m->nmods);
	printf("%-*s %10s %12s  %s\n", width, "module", "blocks", "bytes", "path");
	for (size_t i = 0; i < m->nmods; i++) {
		const char *n = cov_module_name(m, i);
		printf("%-*s %10llu %12llu  %s\n", width, n ? n : "?",
		       (unsigned long long)blocks[i], (unsigned long long)bytes[i],
		       m->mods[i].no_path ? "-" : m->mods[i].path);
	}
	printf("%-*s %10zu %12llu\n", width, "total", m->nblocks, (unsigned long long)tbytes);
	if (m->has_hits)
		printf("hits: %llu\n", (unsigned long long)thits);
	if (m->skipped)
		printf("skipped: %zu blocks in no module\n", m->skipped);
	free(blocks);
	free(bytes);
	cov_free(m);
	return 0;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_diff(struct args *a)
{
	if (a->nfiles != 2 || a->out || a->format >= 0)
		return usage("diff takes BASE and NEW and no options");
	struct cov_model *base = load(a->files[0]), *new;
	if (!base)
		return 1;
	new = load(a->files[1]);
	if (!new) {
		cov_free(base);
		return 1;
	}
	char **lines = calloc(new->nblocks + 1, sizeof(*lines));
	size_t n = 0;
	int ret = 1;
	if (!lines)
		goto oom;
	for (size_t i = 0; i < new->nblocks; i++) {
		const struct cov_block *b = &new->blocks[i];
		const char *name = cov_module_name(new, b->mod);
		bool in_base = false;
		if (!name)
			goto oom;
		/* One file may be several modules (mappings) of BASE. */
		for (size_t j = 0; j < base->nmods && !in_base; j++) {
			int same = cov_same_module(new, b->mod, base, j);
			if (same < 0)
				goto oom;
			if (same && cov_lookup(base, j, b->off))
				in_base = true;
		}
		if (in_base)
			continue;
		if (asprintf(&lines[n], "%s+0x%08llx", name, (unsigned long long)b->off) < 0)
			goto oom;
		n++;
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(lines[i], lines[i - 1]))
			printf("%s\n", lines[i]);
	ret = fflush(stdout) ? 1 : 0;
	if (ret)
		fprintf(stderr, "loom-cov: stdout: %s\n", strerror(errno));
	goto out;
oom:
	fprintf(stderr, "loom-cov: %s: out of memory\n", a->files[1]);
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	cov_free(base);
	cov_free(new);
	return ret;
}

static int cmd_merge(struct args *a)
{
	if (a->nfiles < 1 || !a->out)
		return usage("merge takes FILE... and -o OUT");
	struct cov_model *m = cov_new();
	int ret = 1;
	if (!m) {
		fprintf(stderr, "loom-cov: out of memory\n");
		return 1;
	}
	for (int i = 0; i < a->nfiles; i++) {
		struct cov_model *in = load(a->files[i]);
		if (!in)
			goto out;
		if (cov_merge(m, in) < 0) {
			fprintf(stderr, "loom-cov: %s: out of memory\n", a->files[i]);
			cov_free(in);
			goto out;
		}
		cov_free(in);
	}
	ret = write_out(m, a, a->format >= 0 ? a->format : COV_DRCOV);
out:
	cov_free(m);
	return ret;
}

/* The modules of m whose path or name is which, with their blocks (a
 * drcov, modoff or lcov export of one module: one process's view of one
 * file in a loom-system recording, for Lighthouse).  NULL with a message
 * when none is. */
static struct cov_model *only_module(struct cov_model *m, const char *which, const char *file,
				     const char *host_file)
{
	struct cov_model *o = cov_new();
	int32_t *map = calloc(m->nmods + 1, sizeof(*map));
	bool any = false;
	for (size_t i = 0; o && map && i < m->nmods; i++) {
		const char *n = cov_module_name(m, (uint32_t)i);
		if (strcmp(m->mods[i].path, which) && (!n || strcmp(n, which)))
			continue;
		const struct cov_module *mod = &m->mods[i];
		int k = cov_add_module(o, host_file ? host_file : mod->path, mod->base, mod->end,
				       mod->entry);
		if (k < 0)
			goto oom;
		map[i] = k + 1;
		any = true;
	}
	for (size_t i = 0; o && map && i < m->nblocks; i++) {
		const struct cov_block *b = &m->blocks[i];
		if (map[b->mod] && cov_add_block(o, (uint32_t)(map[b->mod] - 1), b->off, b->size,
						 b->hits) < 0)
			goto oom;
	}
	if (!o || !map)
		goto oom;
	free(map);
	if (!any) {
		fprintf(stderr, "loom-cov: %s: no module '%s' (loom-cov summary lists them)\n", file,
			which);
		cov_free(o);
		return NULL;
	}
	return o;
oom:
	free(map);
	if (o)
		cov_free(o);
	fprintf(stderr, "loom-cov: out of memory\n");
	return NULL;
}

static int cmd_export(struct args *a)
{
	if (a->nfiles != 1 || !a->out || a->format < 0)
		return usage("export takes --format FMT, one FILE and -o OUT");
	struct cov_model *m = load(a->files[0]);
	if (!m)
		return 1;
	if (a->host_file && (!a->wopts.module || a->format == COV_BITMAP)) {
		cov_free(m);
		return usage("--file names the file of the one module --module exports");
	}
	if (a->format != COV_BITMAP && a->wopts.module) {
		struct cov_model *o = only_module(m, a->wopts.module, a->files[0], a->host_file);
		cov_free(m);
		if (!o)
			return 1;
		m = o;
		a->wopts.module = NULL;
	}
	int ret = write_out(m, a, a->format);
	cov_free(m);
	return ret;
}

int main(int argc, char **argv)
{
	struct args a;
	if (argc < 2)
		return usage(NULL);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		fputs(help_text, stdout);
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(struct args *);
	} cmds[] = {
		{ "summary", cmd_summary }, { "diff", cmd_diff },
		{ "merge", cmd_merge }, { "export", cmd_export },
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		int r = parse_args(argc - 2, argv + 2, &a);
		return r ? r : cmds[i].fn(&a);
	}
	fprintf(stderr, "loom-cov: unknown command '%s'\n", argv[1]);
	return usage(NULL);
}
