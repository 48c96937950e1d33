/* screenshot.png and thumbnail.png: one QMP screendump into the run directory, read back
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
	char dir[4200], cmd[4400], why[512];
	run_dir(m, o, dir, sizeof(dir));
	/* QEMU runs in / after it daemonized: the dump's path is absolute; json-c quotes it */
	json_object *args = json_object_new_object(), *c = json_object_new_object();
	snprintf(cmd, sizeof(cmd), "%s/" DUMP, dir);
	json_object_object_add(args, "filename", json_object_new_string(cmd));
	json_object_object_add(c, "execute", json_object_new_string("screendump"));
	json_object_object_add(c, "arguments", args);
	snprintf(cmd, sizeof(cmd), "%s", json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN));
	json_object_put(c);
	int dfd = run_open(m, o);
	if (dfd < 0)
		return dfd;
	int r = qmp_run(dfd, cmd, 5000, NULL, 0, why, sizeof(why));
	struct screen full = {0}, small = {0};
	if (!r)
		r = screen_load_ppm(dfd, DUMP, &full, why, sizeof(why));
	unlinkat(dfd, DUMP, 0);
	close(dfd);
	if (!r && maxdim && (r = screen_scale(&full, maxdim, &small)) < 0)
		snprintf(why, sizeof(why), "cannot scale the screen: %s", strerror(-r));
	if (!r)
		r = screen_png(maxdim ? &small : &full, png, why, sizeof(why));
	screen_free(&full);
	screen_free(&small);
	if (r)
		snprintf(err, errlen, "screenshot of %s: %s", o->name, why);
	return r;
}
