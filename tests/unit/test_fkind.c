/* vmfs/fkind.h: the table of file kinds agrees with the node table, so that no file of the
 * tree reaches an operation its kind lacks. */
#include <errno.h>
#include <fcntl.h>

#include "tests/unit/tap.h"
#include "vmfs/fkind.h"

static bool has_file_ops(const struct fkind *fk)
{
	return fk->open || fk->read || fk->write || fk->resume || fk->abandon || fk->waitq ||
	       fk->release || fk->size || fk->perm || fk->truncate;
}

static void check_entry(const struct ventry *e)
{
	const struct fkind *fk = fkind_of(e);
	const char *name = e->name ? e->name : "(named at run time)";
	ok(fk != NULL, "kind %d (%s): has an entry in the table of file kinds", e->kind, name);
	if (!fk)
		return;
	if (e->file == VF_DIR) {
		ok(!has_file_ops(fk) && !fk->tree, "kind %d (%s): a directory has no file operation",
		   e->kind, name);
		ok(!e->lookup == !e->names, "kind %d (%s): names its children with both lookup and "
		   "names, or neither", e->kind, name);
		return;
	}
	ok(fk->read != NULL, "kind %d (%s): a file can be read", e->kind, name);
	if (e->mode & 0222)
		ok(fk->write != NULL, "kind %d (%s): a writable file can be written", e->kind, name);
	if (e->file == VF_GEN || e->file == VF_VALUE)
		ok(e->gen != NULL, "kind %d (%s): generated text has its gen", e->kind, name);
	if (e->file == VF_VALUE)
		ok(e->set != NULL, "kind %d (%s): a value has its set", e->kind, name);
	if (e->file == VF_CTL)
		ok(e->ctl != NULL, "kind %d (%s): a ctl file has its commands", e->kind, name);
}

/* A write that goes on in the background (resume) must have somewhere to wait. */
static void check_kind(const char *name, const struct fkind *fk)
{
	ok(!fk->resume || fk->waitq, "%s: a write that is resumed has a wait queue", name);
	const struct ftree *t = fk->tree;
	if (t)
		ok(t->from_ino && t->lookup && t->getattr && t->readdir && t->mkdir && t->remove &&
		   t->create && t->rename && t->setattr && t->readlink && t->symlink && t->forget,
		   "%s: its tree has every operation", name);
}

static void copy_out(void)
{
	char buf[8];
	ok(file_copy_out("hello", 5, buf, sizeof(buf), 0) == 5 && !memcmp(buf, "hello", 5),
	   "copy: the whole text from 0");
	ok(file_copy_out("hello", 5, buf, 2, 3) == 2 && !memcmp(buf, "lo", 2),
	   "copy: as much as asked from an offset");
	ok(file_copy_out("hello", 5, buf, sizeof(buf), 5) == 0, "copy: nothing at the end");
	ok(file_copy_out("hello", 5, buf, sizeof(buf), 99) == 0, "copy: nothing past the end");
	ok(file_copy_out("hello", 5, buf, sizeof(buf), -1) == 0, "copy: nothing before the start");
}

/* Refusals that come before any kind is asked: nothing of the daemon is needed. */
static void open_refused(void)
{
	struct vhandle *h = NULL;
	struct vnode root = {.e = vtab_find(VK_ROOT)}, version = {.e = vtab_find(VK_VERSION)};
	struct vnode store = {.e = vtab_find(VK_IMAGES)};
	ok(node_open(NULL, &root, O_RDONLY, NULL, &h) == -EISDIR && !h,
	   "open: a directory of the node table is refused (EISDIR)");
	ok(node_open(NULL, &version, O_WRONLY, NULL, &h) == -EACCES && !h,
	   "open: a read-only file for writing is refused (EACCES)");
	ok(fkind_of(store.e)->tree != NULL, "images/ is a tree of its kind's own");
}

int main(void)
{
	for (size_t i = 0; i < vtab_len; i++)
		check_entry(&vtab[i]);
	const struct {
		const char *name;
		const struct fkind *fk;
	} kinds[] = {
		{"gen", &fk_gen},
		{"log", &fk_log},
		{"value", &fk_value},
		{"ctl", &fk_ctl},
		{"stream", &fk_stream},
		{"scrollback", &fk_scrollback},
		{"images/", &fk_pass},
		{"a member's file", &fk_remote},
	};
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		check_kind(kinds[i].name, kinds[i].fk);
	copy_out();
	open_refused();
	return tap_done();
}
