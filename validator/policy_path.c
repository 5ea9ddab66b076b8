/*
 * validator/policy_path.c: the field paths of policy rules.
 *
 * A path is written as the validator writes error paths (validator/doc.h):
 * `spec.lr`, `spec.betas[1]`, `metadata.labels["a.b"]`, plus `[*]` for
 * every item of an array (`spec.param_groups[*].eps`).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "policy_int.h"

static void add_seg(struct policy_path *p, size_t *cap, enum policy_seg_kind k,
		    char *key, size_t index)
{
	OPTREG_ALLOC_GROW(p->segs, p->nsegs + 1, *cap);
	p->segs[p->nsegs].kind = k;
	p->segs[p->nsegs].key = key;
	p->segs[p->nsegs].index = index;
	p->nsegs++;
	if (k == POLICY_SEG_ALL)
		p->wildcard = true;
}

static bool ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-';
}

bool policy_path_parse(struct policy_path *p, const char *text)
{
	const char *s = text;
	size_t cap = 0;

	memset(p, 0, sizeof(*p));
	if (!text || !*text)
		return false;
	bool first = true;
	while (*s) {
		if (*s == '[') {
			if (first)
				goto bad;
			s++;
			if (s[0] == '*' && s[1] == ']') {
				add_seg(p, &cap, POLICY_SEG_ALL, NULL, 0);
				s += 2;
			} else if (*s == '"') {
				const char *e = strstr(s + 1, "\"]");
				if (!e || e == s + 1)
					goto bad;
				add_seg(p, &cap, POLICY_SEG_KEY,
					optreg_xstrndup(s + 1,
							(size_t)(e - s - 1)),
					0);
				s = e + 2;
			} else if (isdigit((unsigned char)*s)) {
				size_t n = 0;
				while (isdigit((unsigned char)*s)) {
					if (n > 100000)
						goto bad;
					n = n * 10 + (size_t)(*s - '0');
					s++;
				}
				if (*s != ']')
					goto bad;
				s++;
				add_seg(p, &cap, POLICY_SEG_INDEX, NULL, n);
			} else {
				goto bad;
			}
			continue;
		}
		if (!first) {
			if (*s != '.')
				goto bad;
			s++;
		}
		const char *b = s;
		while (ident_char(*s))
			s++;
		if (s == b)
			goto bad;
		add_seg(p, &cap, POLICY_SEG_KEY,
			optreg_xstrndup(b, (size_t)(s - b)), 0);
		first = false;
	}
	p->text = optreg_xstrdup(text);
	return true;
bad:
	policy_path_release(p);
	return false;
}

void policy_path_release(struct policy_path *p)
{
	for (size_t i = 0; i < p->nsegs; i++)
		free(p->segs[i].key);
	free(p->segs);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

/* Every field an OptimizerConfig v1 may have, with [] for any index and
 * * for any label key. */
static const char *const known[] = {
	"apiVersion",
	"kind",
	"metadata",
	"metadata.namespace",
	"metadata.name",
	"metadata.description",
	"metadata.labels",
	"metadata.labels.*",
	"spec",
	"spec.optimizer",
	"spec.lr",
	"spec.betas",
	"spec.betas[]",
	"spec.eps",
	"spec.weight_decay",
	"spec.amsgrad",
	"spec.maximize",
	"spec.grad_clip_norm",
	"spec.schedule",
	"spec.schedule.kind",
	"spec.schedule.warmup_steps",
	"spec.schedule.total_steps",
	"spec.schedule.min_lr",
	"spec.param_groups",
	"spec.param_groups[]",
	"spec.param_groups[].match",
	"spec.param_groups[].lr",
	"spec.param_groups[].betas",
	"spec.param_groups[].betas[]",
	"spec.param_groups[].eps",
	"spec.param_groups[].weight_decay",
	NULL,
};

bool policy_path_known(const struct policy_path *p)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	bool ok = false;

	for (size_t i = 0; i < p->nsegs; i++) {
		const struct policy_seg *s = &p->segs[i];
		if (s->kind != POLICY_SEG_KEY) {
			/* betas has two items, param_groups at most 64. */
			const char *arr = i ? p->segs[i - 1].key : NULL;
			if (s->kind == POLICY_SEG_INDEX && arr &&
			    ((!strcmp(arr, "betas") && s->index > 1) ||
			     (!strcmp(arr, "param_groups") && s->index > 63)))
				goto out;
			optreg_buf_adds(&b, "[]");
			continue;
		}
		if (i)
			optreg_buf_addch(&b, '.');
		if (i == 2 && !strcmp(p->segs[0].key, "metadata") &&
		    p->segs[1].kind == POLICY_SEG_KEY &&
		    !strcmp(p->segs[1].key, "labels"))
			optreg_buf_addch(&b, '*');
		else
			optreg_buf_adds(&b, s->key);
	}
	for (const char *const *k = known; *k && !ok; k++)
		ok = !strcmp(b.data, *k);
out:
	optreg_buf_release(&b);
	return ok;
}
