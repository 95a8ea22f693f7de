/*
 * -drive, -nic, -netdev and -device (devopts.h): QEMU's key=value lists
 * parsed into small tables, and the devices built from them once the
 * machine's PCI bus exists.  What QEMU accepts but loom-system does not
 * model (another disk interface or NIC model, a disk format other than
 * raw, an unknown key) is refused with one line naming it, never ignored.
 */
#include "system/devopts.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "system/net-user.h"
#include "system/virtio-blk.h"
#include "system/virtio-net.h"

#define DEVOPTS_MAX	8

struct kv {
	char *key, *value;	/* value NULL: a bare word */
};

static struct {
	struct drive {
		struct virtio_blk_config cfg;
		const char *id;
		bool if_none;		/* a backend for -device virtio-blk-pci */
		bool used;
	} drive[DEVOPTS_MAX];
	int ndrives;
	/* -device virtio-blk-pci,drive=ID: built in command-line order */
	struct blkdev {
		const char *drive, *serial, *spec;
	} blkdev[DEVOPTS_MAX];
	int nblkdevs;
	/* -device's NICs and disks in command-line order (QEMU's slots: the
	 * -nic NICs, then every -device, then the if=virtio drives) */
	struct devorder {
		bool nic;
		int index;
	} order[2 * DEVOPTS_MAX];
	int norder;
	struct netdev {
		char *id;
		struct net_user_config cfg;
		bool used;
	} netdev[DEVOPTS_MAX];
	int nnetdevs;
	struct nic {
		int netdev;		/* index into netdev; -1: by name, below */
		const char *netdev_name;	/* -device's netdev=, resolved when built */
		const char *spec;
		uint8_t mac[6];
		bool mac_given;
	} nic[DEVOPTS_MAX];
	int nnics;
} dv;

/* Split "a=b,c,d=e,,f" into pairs (",," is a comma in a value).  The
 * strings are the caller's to keep (the machine's life). */
static int split(const char *spec, struct kv *kv, int max)
{
	char *s = strdup(spec), *out = s;
	int n = 0;

	if (!s)
		return -1;
	kv[0] = (struct kv){ out, NULL };
	for (const char *p = spec;; p++) {
		if (*p == ',' && p[1] == ',') {
			*out++ = ',';
			p++;
			continue;
		}
		if (*p == ',' || !*p) {
			*out++ = 0;
			char *eq = strchr(kv[n].key, '=');
			if (eq) {
				*eq = 0;
				kv[n].value = eq + 1;
			}
			if (++n == max && *p)
				return -1;
			if (!*p)
				return n;
			kv[n] = (struct kv){ out, NULL };
			continue;
		}
		*out++ = *p;
	}
}

static bool parse_bool(const char *v, bool *b)
{
	if (!v || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*b = true;
		return true;
	}
	if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*b = false;
		return true;
	}
	return false;
}

int devopts_add_drive(const char *spec, char *err, size_t errlen)
{
	struct kv kv[16];
	int n = split(spec, kv, 16);
	struct drive d = { 0 };

	if (n < 0) {
		snprintf(err, errlen, "-drive %s: too many options", spec);
		return -1;
	}
	if (dv.ndrives == DEVOPTS_MAX) {
		snprintf(err, errlen, "-drive %s: at most %d drives", spec, DEVOPTS_MAX);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].value;
		if (!v && strcmp(k, "readonly")) {
			snprintf(err, errlen, "-drive %s: '%s' needs a value (file=IMG,...)", spec, k);
			return -1;
		}
		if (!strcmp(k, "file")) {
			d.cfg.file = v;
		} else if (!strcmp(k, "format")) {
			if (strcmp(v, "raw")) {
				snprintf(err, errlen, "-drive %s: format '%s' not supported (only raw)",
					 spec, v);
				return -1;
			}
		} else if (!strcmp(k, "if")) {
			if (!strcmp(v, "none")) {
				d.if_none = true;
			} else if (strcmp(v, "virtio")) {
				snprintf(err, errlen, "-drive %s: interface '%s' not supported (only "
					 "if=virtio or if=none)", spec, v);
				return -1;
			}
		} else if (!strcmp(k, "readonly") || !strcmp(k, "read-only")) {
			if (!parse_bool(v, &d.cfg.readonly)) {
				snprintf(err, errlen, "-drive %s: readonly=%s: on or off", spec, v);
				return -1;
			}
		} else if (!strcmp(k, "serial")) {
			/* as QEMU 7.2, which dropped it from -drive */
			snprintf(err, errlen, "-drive %s: no serial= here: -drive if=none,id=ID,... "
				 "-device virtio-blk-pci,drive=ID,serial=%s", spec, v);
			return -1;
		} else if (!strcmp(k, "id")) {
			for (int j = 0; j < dv.ndrives; j++)
				if (dv.drive[j].id && !strcmp(dv.drive[j].id, v)) {
					snprintf(err, errlen, "-drive %s: id '%s' used twice", spec, v);
					return -1;
				}
			d.id = v;
		} else if (!strcmp(k, "media") && !strcmp(v, "disk")) {
			/* the only kind */
		} else {
			snprintf(err, errlen, "-drive %s: option '%s' not supported", spec, k);
			return -1;
		}
	}
	if (d.if_none && !d.id) {
		snprintf(err, errlen, "-drive %s: if=none needs id=", spec);
		return -1;
	}
	if (!d.cfg.file || !*d.cfg.file) {
		snprintf(err, errlen, "-drive %s: no file= given", spec);
		return -1;
	}
	dv.drive[dv.ndrives++] = d;
	return 0;
}

/* QEMU's hostfwd rule: [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT. */
static bool parse_port(const char *s, const char *end, int *port)
{
	char buf[8];
	char *e;
	if (end - s <= 0 || end - s >= (long)sizeof(buf))
		return false;
	memcpy(buf, s, end - s);
	buf[end - s] = 0;
	long v = strtol(buf, &e, 10);
	if (*e || v < 0 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

static bool parse_addr(const char *s, const char *end, struct in_addr *a)
{
	char buf[INET_ADDRSTRLEN];
	if (end == s) {
		a->s_addr = 0;	/* any (host) / the DHCP address (guest) */
		return true;
	}
	if (end - s >= (long)sizeof(buf))
		return false;
	memcpy(buf, s, end - s);
	buf[end - s] = 0;
	return inet_pton(AF_INET, buf, a) == 1;
}

static bool parse_hostfwd(const char *rule, struct net_hostfwd *f)
{
	const char *p = rule;
	f->udp = false;
	if (!strncmp(p, "tcp:", 4)) {
		p += 4;
	} else if (!strncmp(p, "udp:", 4)) {
		f->udp = true;
		p += 4;
	} else if (*p == ':') {
		p++;
	}
	const char *c1 = strchr(p, ':'), *dash = c1 ? strchr(c1, '-') : NULL;
	const char *c2 = dash ? strchr(dash, ':') : NULL;
	return c1 && dash && c2 && parse_addr(p, c1, &f->host_addr) &&
	       parse_port(c1 + 1, dash, &f->host_port) &&
	       parse_addr(dash + 1, c2, &f->guest_addr) &&
	       parse_port(c2 + 1, c2 + strlen(c2), &f->guest_port) && f->guest_port;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned m[6];
	char tail;
	if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
			 &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (m[i] > 255)
			return false;
		mac[i] = m[i];
	}
	return !(mac[0] & 1);	/* a multicast address is no NIC's */
}

/* The options -nic and -netdev share: user networking and its rules. */
static int netdev_option(const char *opt, const char *spec, const struct kv *kv,
			 struct net_user_config *cfg, char *err, size_t errlen)
{
	if (!strcmp(kv->key, "hostfwd") && kv->value) {
		if (cfg->nfwd == NET_USER_MAX_FWD) {
			snprintf(err, errlen, "%s %s: at most %d hostfwd rules", opt, spec,
				 NET_USER_MAX_FWD);
			return -1;
		}
		if (!parse_hostfwd(kv->value, &cfg->fwd[cfg->nfwd])) {
			snprintf(err, errlen, "%s %s: bad hostfwd rule '%s' (tcp:[HOSTADDR]:"
				 "HOSTPORT-[GUESTADDR]:GUESTPORT)", opt, spec, kv->value);
			return -1;
		}
		cfg->nfwd++;
		return 0;
	}
	snprintf(err, errlen, "%s %s: option '%s' not supported", opt, spec, kv->key);
	return -1;
}

static struct netdev *new_netdev(const char *opt, const char *spec, char *err, size_t errlen)
{
	if (dv.nnetdevs == DEVOPTS_MAX) {
		snprintf(err, errlen, "%s %s: at most %d networks", opt, spec, DEVOPTS_MAX);
		return NULL;
	}
	struct netdev *nd = &dv.netdev[dv.nnetdevs++];
	memset(nd, 0, sizeof(*nd));
	return nd;
}

static int new_nic(const char *opt, const char *spec, int netdev, const char *mac,
		   char *err, size_t errlen)
{
	if (dv.nnics == DEVOPTS_MAX) {
		snprintf(err, errlen, "%s %s: at most %d NICs", opt, spec, DEVOPTS_MAX);
		return -1;
	}
	struct nic *c = &dv.nic[dv.nnics];
	c->netdev = netdev;
	c->spec = spec;
	c->mac_given = mac != NULL;
	if (mac && !parse_mac(mac, c->mac)) {
		snprintf(err, errlen, "%s %s: bad mac '%s' (xx:xx:xx:xx:xx:xx, unicast)", opt,
			 spec, mac);
		return -1;
	}
	dv.nnics++;
	return 0;
}

static bool model_ok(const char *m)
{
	return !strcmp(m, "virtio-net-pci") || !strcmp(m, "virtio");
}

int devopts_add_nic(const char *spec, char *err, size_t errlen)
{
	struct kv kv[24];
	int n = split(spec, kv, 24);
	const char *mac = NULL;

	if (n < 0) {
		snprintf(err, errlen, "-nic %s: too many options", spec);
		return -1;
	}
	if (!strcmp(kv[0].key, "none") && n == 1)
		return 0;
	if (strcmp(kv[0].key, "user") || kv[0].value) {
		snprintf(err, errlen, "-nic %s: network type '%s' not supported (only user)", spec,
			 kv[0].key);
		return -1;
	}
	struct netdev *nd = new_netdev("-nic", spec, err, errlen);
	if (!nd)
		return -1;
	for (int i = 1; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].value;
		if (!strcmp(k, "model") && v) {
			if (!model_ok(v)) {
				snprintf(err, errlen, "-nic %s: model '%s' not supported (only "
					 "virtio-net-pci)", spec, v);
				return -1;
			}
		} else if (!strcmp(k, "mac")) {
			mac = v ? v : "";
		} else if (!strcmp(k, "id") && v) {
			nd->id = kv[i].value;
		} else if (netdev_option("-nic", spec, &kv[i], &nd->cfg, err, errlen) < 0) {
			return -1;
		}
	}
	nd->used = true;
	return new_nic("-nic", spec, dv.nnetdevs - 1, mac, err, errlen);
}

int devopts_add_netdev(const char *spec, char *err, size_t errlen)
{
	struct kv kv[24];
	int n = split(spec, kv, 24);

	if (n < 0) {
		snprintf(err, errlen, "-netdev %s: too many options", spec);
		return -1;
	}
	if (strcmp(kv[0].key, "user") || kv[0].value) {
		snprintf(err, errlen, "-netdev %s: network type '%s' not supported (only user)",
			 spec, kv[0].key);
		return -1;
	}
	struct netdev *nd = new_netdev("-netdev", spec, err, errlen);
	if (!nd)
		return -1;
	for (int i = 1; i < n; i++) {
		if (!strcmp(kv[i].key, "id") && kv[i].value) {
			for (int j = 0; j < dv.nnetdevs - 1; j++)
				if (dv.netdev[j].id && !strcmp(dv.netdev[j].id, kv[i].value)) {
					snprintf(err, errlen, "-netdev %s: id '%s' used twice", spec,
						 kv[i].value);
					return -1;
				}
			nd->id = kv[i].value;
		} else if (netdev_option("-netdev", spec, &kv[i], &nd->cfg, err, errlen) < 0) {
			return -1;
		}
	}
	if (!nd->id) {
		snprintf(err, errlen, "-netdev %s: needs id=", spec);
		return -1;
	}
	return 0;
}

int devopts_add_device(const char *spec, char *err, size_t errlen)
{
	struct kv kv[16];
	int n = split(spec, kv, 16);
	const char *netdev = NULL, *mac = NULL;

	if (n < 0 || kv[0].value) {
		snprintf(err, errlen, "-device %s: DRIVER[,prop=value...]", spec);
		return -1;
	}
	if (!strcmp(kv[0].key, "virtio-blk-pci")) {
		struct blkdev bd = { .spec = spec };
		if (dv.nblkdevs == DEVOPTS_MAX) {
			snprintf(err, errlen, "-device %s: at most %d disks", spec, DEVOPTS_MAX);
			return -1;
		}
		for (int i = 1; i < n; i++) {
			const char *k = kv[i].key, *v = kv[i].value;
			if (!strcmp(k, "drive") && v)
				bd.drive = v;
			else if (!strcmp(k, "serial") && v)
				bd.serial = v;
			else if (strcmp(k, "id") || !v) {
				snprintf(err, errlen, "-device %s: property '%s' not supported", spec,
					 k);
				return -1;
			}
		}
		if (!bd.drive) {
			snprintf(err, errlen, "-device %s: needs drive=ID", spec);
			return -1;
		}
		dv.order[dv.norder++] = (struct devorder){ false, dv.nblkdevs };
		dv.blkdev[dv.nblkdevs++] = bd;
		return 0;
	}
	if (!model_ok(kv[0].key) || !strcmp(kv[0].key, "virtio")) {
		snprintf(err, errlen, "-device %s: device '%s' not supported (only "
			 "virtio-net-pci and virtio-blk-pci)", spec, kv[0].key);
		return -1;
	}
	for (int i = 1; i < n; i++) {
		const char *k = kv[i].key, *v = kv[i].value;
		if (!strcmp(k, "netdev") && v)
			netdev = v;
		else if (!strcmp(k, "mac"))
			mac = v ? v : "";
		else if (strcmp(k, "id") || !v) {
			snprintf(err, errlen, "-device %s: property '%s' not supported", spec, k);
			return -1;
		}
	}
	if (!netdev) {
		snprintf(err, errlen, "-device %s: needs netdev=ID", spec);
		return -1;
	}
	/* QEMU creates every -netdev before any -device: the name is
	 * resolved when the machine is built. */
	if (new_nic("-device", spec, -1, mac, err, errlen) < 0)
		return -1;
	dv.nic[dv.nnics - 1].netdev_name = netdev;
	dv.order[dv.norder++] = (struct devorder){ true, dv.nnics - 1 };
	return 0;
}

static int build_nic(int i, char *err, size_t errlen)
{
	struct nic *c = &dv.nic[i];
	/* QEMU's default MAC, its last byte counting NICs. */
	uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + i) };
	struct net_user *nu = net_user_new(&dv.netdev[c->netdev].cfg, err, errlen);
	if (!nu)
		return -1;
	return virtio_net_new(c->mac_given ? c->mac : mac, nu, err, errlen);
}

static int build_blkdev(struct blkdev *bd, char *err, size_t errlen)
{
	struct drive *d = NULL;
	for (int j = 0; j < dv.ndrives; j++)
		if (dv.drive[j].id && !strcmp(dv.drive[j].id, bd->drive))
			d = &dv.drive[j];
	if (!d || !d->if_none || d->used) {
		snprintf(err, errlen, "-device %s: %s", bd->spec,
			 !d ? "no -drive with that id" : !d->if_none ?
			 "the drive is if=virtio already (use if=none)" :
			 "the drive has a disk already");
		return -1;
	}
	d->used = true;
	d->cfg.serial = bd->serial;
	return virtio_blk_new(&d->cfg, err, errlen);
}

int devopts_build(char *err, size_t errlen)
{
	for (int i = 0; i < dv.nnics; i++) {
		struct nic *c = &dv.nic[i];
		if (c->netdev >= 0)
			continue;
		for (int j = 0; j < dv.nnetdevs; j++)
			if (dv.netdev[j].id && !strcmp(dv.netdev[j].id, c->netdev_name))
				c->netdev = j;
		if (c->netdev < 0) {
			snprintf(err, errlen, "-device %s: no -netdev with id '%s'", c->spec,
				 c->netdev_name);
			return -1;
		}
		if (dv.netdev[c->netdev].used) {
			snprintf(err, errlen, "-device %s: netdev '%s' already has a NIC", c->spec,
				 c->netdev_name);
			return -1;
		}
		dv.netdev[c->netdev].used = true;
	}
	for (int j = 0; j < dv.nnetdevs; j++)
		if (!dv.netdev[j].used) {
			snprintf(err, errlen, "-netdev user,id=%s: no NIC uses it (-device "
				 "virtio-net-pci,netdev=%s)", dv.netdev[j].id, dv.netdev[j].id);
			return -1;
		}
	for (int i = 0; i < dv.nnics; i++)
		if (!dv.nic[i].netdev_name && build_nic(i, err, errlen) < 0)
			return -1;
	for (int i = 0; i < dv.norder; i++)
		if ((dv.order[i].nic ? build_nic(dv.order[i].index, err, errlen)
				     : build_blkdev(&dv.blkdev[dv.order[i].index], err, errlen)) < 0)
			return -1;
	for (int i = 0; i < dv.ndrives; i++)
		if (!dv.drive[i].if_none && virtio_blk_new(&dv.drive[i].cfg, err, errlen) < 0)
			return -1;
	for (int i = 0; i < dv.ndrives; i++)
		if (dv.drive[i].if_none && !dv.drive[i].used) {
			snprintf(err, errlen, "-drive id=%s,if=none: no -device virtio-blk-pci uses it",
				 dv.drive[i].id);
			return -1;
		}
	return 0;
}
