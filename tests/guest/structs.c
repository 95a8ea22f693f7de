/* Pointer-heavy data structures: a doubly linked list with insertion, removal
 * and merge sort; a chained hash table counting words of generated text; a
 * binary search tree with in-order walk and deletion.  Results are printed in
 * a deterministic order (never by address). */
#include "guest.h"
#include <stdlib.h>
#include <string.h>

struct item {
	struct item *prev, *next;
	int key;
	char tag[8];
};

static struct item *merge(struct item *a, struct item *b)
{
	struct item head = { 0 }, *t = &head;
	while (a && b) {
		struct item **p = a->key <= b->key ? &a : &b;
		t->next = *p;
		(*p)->prev = t;
		t = *p;
		*p = (*p)->next;
	}
	t->next = a ? a : b;
	if (t->next)
		t->next->prev = t;
	if (head.next)
		head.next->prev = NULL;
	return head.next;
}

static struct item *msort(struct item *l)
{
	if (!l || !l->next)
		return l;
	struct item *slow = l, *fast = l->next;
	while (fast && fast->next) {
		slow = slow->next;
		fast = fast->next->next;
	}
	struct item *r = slow->next;
	slow->next = NULL;
	r->prev = NULL;
	return merge(msort(l), msort(r));
}

static void list_test(void)
{
	struct item *head = NULL;
	rng_seed(55);
	for (int i = 0; i < 20000; i++) {
		struct item *it = malloc(sizeof *it);
		it->key = (int)(rng() % 100000);
		snprintf(it->tag, sizeof it->tag, "t%d", i % 1000);
		it->prev = NULL;
		it->next = head;
		if (head)
			head->prev = it;
		head = it;
	}
	/* Remove every element whose key is divisible by 7. */
	int removed = 0;
	for (struct item *it = head, *nx; it; it = nx) {
		nx = it->next;
		if (it->key % 7 == 0) {
			if (it->prev) it->prev->next = it->next; else head = it->next;
			if (it->next) it->next->prev = it->prev;
			free(it);
			removed++;
		}
	}
	head = msort(head);
	int n = 0, sorted = 1, links = 1;
	uint64_t h = MIX_INIT;
	struct item *last = NULL;
	for (struct item *it = head; it; it = it->next) {
		if (last && last->key > it->key) sorted = 0;
		if (it->prev != last) links = 0;
		h = mix(h, (uint64_t)it->key);
		last = it;
		n++;
	}
	printf("list: %d left, %d removed, sorted=%d links=%d first=%d/%s last=%d hash=%016llx\n",
	       n, removed, sorted, links, head->key, head->tag, last->key, (unsigned long long)h);
	/* Walk backwards and free. */
	long sum = 0;
	while (last) {
		struct item *p = last->prev;
		sum += last->key;
		free(last);
		last = p;
	}
	printf("list backward sum %ld\n", sum);
}

struct entry {
	struct entry *next;
	char *word;
	int count;
};
enum { BUCKETS = 1021 };
static struct entry *table[BUCKETS];

static unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
	if (x->count != y->count)
		return y->count - x->count;
	return strcmp(x->word, y->word);
}

static void hash_test(void)
{
	static const char *syll[] = { "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "qu" };
	int distinct = 0, total = 0;
	rng_seed(66);
	for (int i = 0; i < 40000; i++) {
		char w[16] = "";
		int ns = 1 + (int)(rng() % 3);
		for (int j = 0; j < ns; j++)
			strcat(w, syll[rng() % (j == 0 ? 10 : 4)]);
		struct entry **b = &table[hash_str(w) % BUCKETS], *e;
		for (e = *b; e; e = e->next)
			if (strcmp(e->word, w) == 0)
				break;
		if (!e) {
			e = malloc(sizeof *e);
			e->word = strdup(w);
			e->count = 0;
			e->next = *b;
			*b = e;
			distinct++;
		}
		e->count++;
		total++;
	}
	struct entry **all = malloc(distinct * sizeof *all);
	int k = 0, longest = 0;
	for (int i = 0; i < BUCKETS; i++) {
		int len = 0;
		for (struct entry *e = table[i]; e; e = e->next, len++)
			all[k++] = e;
		if (len > longest)
			longest = len;
	}
	qsort(all, distinct, sizeof *all, cmp_entry);
	printf("hash: %d words, %d distinct, longest chain %d\n", total, distinct, longest);
	for (int i = 0; i < 8; i++)
		printf("  %-8s %d\n", all[i]->word, all[i]->count);
	for (int i = 0; i < distinct; i++) {
		free(all[i]->word);
		free(all[i]);
	}
	free(all);
}

struct tnode {
	struct tnode *l, *r;
	long key;
};

static struct tnode *insert(struct tnode *t, long key)
{
	if (!t) {
		t = calloc(1, sizeof *t);
		t->key = key;
		return t;
	}
	if (key < t->key)
		t->l = insert(t->l, key);
	else if (key > t->key)
		t->r = insert(t->r, key);
	return t;
}

static struct tnode *delete(struct tnode *t, long key)
{
	if (!t)
		return NULL;
	if (key < t->key)
		t->l = delete(t->l, key);
	else if (key > t->key)
		t->r = delete(t->r, key);
	else {
		if (!t->l || !t->r) {
			struct tnode *c = t->l ? t->l : t->r;
			free(t);
			return c;
		}
		struct tnode *m = t->r;
		while (m->l)
			m = m->l;
		t->key = m->key;
		t->r = delete(t->r, m->key);
	}
	return t;
}

static uint64_t walk_hash;
static int walk_n, walk_depth;
static void walk(struct tnode *t, int d)
{
	if (!t)
		return;
	if (d > walk_depth)
		walk_depth = d;
	walk(t->l, d + 1);
	walk_hash = mix(walk_hash, (uint64_t)t->key);
	walk_n++;
	walk(t->r, d + 1);
}

static void tree_free(struct tnode *t)
{
	if (!t)
		return;
	tree_free(t->l);
	tree_free(t->r);
	free(t);
}

static void tree_test(void)
{
	struct tnode *root = NULL;
	rng_seed(77);
	for (int i = 0; i < 30000; i++)
		root = insert(root, (long)(rng() % 1000000));
	rng_seed(78);
	for (int i = 0; i < 10000; i++)
		root = delete(root, (long)(rng() % 1000000));
	for (long i = 0; i < 1000000; i += 4999)
		root = delete(root, i);
	walk_hash = MIX_INIT;
	walk(root, 0);
	printf("tree: %d nodes, depth %d, hash %016llx\n", walk_n, walk_depth,
	       (unsigned long long)walk_hash);
	tree_free(root);
}

int main(void)
{
	list_test();
	hash_test();
	tree_test();
	return 0;
}
