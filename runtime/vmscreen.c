/* screenshot.png and thumbnail.png: one QMP screendump into run/qemu, read back
 * and encoded here, so that each open shows the screen as it is at that moment. */
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>

#include "runtime/qmp.h"
#include "runtime/run.h"
#include "runtime/screen.h"
#include "runtime/vm.h"

#define DUMP "screen.ppm"

int vm_screenshot(struct model *m, struct object *o, unsigned maxdim, struct sbuf *png,
		  char *err, size_t errlen)
{
	if (!vm_has_display(o, err, errlen))
		return -ENODEV;
	if (o->state != ST_RUNNING && o->state != ST_PAUSED) {
		snprintf(err, errlen, "no screen: %s is not running (state %s)", o->name,
			 ostate_name(o->state));
		return -EBUSY;
	}
	char cmd[4400];
	struct err e;
	err_clear(&e);
	/* in QEMU's working directory, run/qemu (the one it may write) */
	json_object *args = json_object_new_object(), *c = json_object_new_object();
	json_object_object_add(args, "filename", json_object_new_string(DUMP));
	json_object_object_add(c, "execute", json_object_new_string("screendump"));
	json_object_object_add(c, "arguments", args);
	snprintf(cmd, sizeof(cmd), "%s", json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN));
	json_object_put(c);
	int dfd = run_open(m, o);
	if (dfd < 0)
		return dfd;
	/* qmp.c is still on (err, errlen) */
	int r = err_took(&e, qmp_run(dfd, cmd, 5000, NULL, 0, e.why, sizeof(e.why)));
	int qdfd = openat(dfd, QEMU_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	struct screen full = {0}, small = {0};
	if (!r && qdfd < 0)
		r = err_sys(&e, errno, "run/%s", QEMU_DIR);
	if (!r) /* QEMU's file: screen_load_ppm follows no link and reads only a file */
		r = screen_load_ppm(qdfd, DUMP, &full, &e);
	if (qdfd >= 0) {
		unlinkat(qdfd, DUMP, 0);
		close(qdfd);
	}
	if (!r && maxdim && (r = screen_scale(&full, maxdim, &small)) < 0)
		err_sys(&e, r, "cannot scale the screen");
	if (!r)
		r = screen_png(maxdim ? &small : &full, png, &e);
	screen_free(&full);
	screen_free(&small);
	if (r) {
		err_ensure(&e, r);
		err_wrap(&e, "screenshot of %s", o->name);
	}
	return err_result(&e, r, err, errlen);
}
