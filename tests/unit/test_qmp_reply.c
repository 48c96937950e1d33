/* runtime/qmp.c: what one line from QEMU's monitor is: the answer, QEMU's error, or
 * something to skip (the greeting, an event, not JSON). */
#include <errno.h>

#include "runtime/qmp.h"
#include "tests/unit/tap.h"

int main(void)
{
	char reply[64], err[128];
	ok(qmp_reply_parse("{\"return\": {}}", reply, sizeof(reply), err, sizeof(err)) == 0,
	   "an empty return is the answer");
	is_str(reply, "{}", "its value");
	ok(qmp_reply_parse("{\"return\": {\"status\": \"running\"}, \"id\": \"s\"}", reply,
			   sizeof(reply), err, sizeof(err)) == 0, "a return with an id");
	is_str(reply, "{\"status\":\"running\"}", "its value, as plain JSON");
	ok(qmp_reply_parse("{\"return\": {}}", NULL, 0, err, sizeof(err)) == 0,
	   "the answer without a reply buffer");
	ok(qmp_reply_parse("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such device\"}}",
			   reply, sizeof(reply), err, sizeof(err)) == -EIO, "an error is -EIO");
	is_str(err, "QEMU: GenericError: no such device", "with its class and desc");
	ok(qmp_reply_parse("{\"error\": 5}", reply, sizeof(reply), err, sizeof(err)) == -EIO,
	   "an error of the wrong shape is still an error");
	is_str(err, "QEMU: ?: ?", "whose parts are unknown");
	ok(qmp_reply_parse("{\"event\": \"STOP\", \"timestamp\": {}}", reply, sizeof(reply), err,
			   sizeof(err)) == 1, "an event is skipped");
	ok(qmp_reply_parse("{\"QMP\": {\"version\": {}}}", reply, sizeof(reply), err, sizeof(err)) == 1,
	   "the greeting is skipped");
	ok(qmp_reply_parse("not json", reply, sizeof(reply), err, sizeof(err)) == 1, "not JSON is skipped");
	ok(qmp_reply_parse("[1, 2]", reply, sizeof(reply), err, sizeof(err)) == 1, "an array is skipped");
	ok(qmp_reply_parse("", reply, sizeof(reply), err, sizeof(err)) == 1, "an empty line is skipped");
	ok(qmp_reply_parse("{\"return\": \"0123456789012345678901234567890123456789\"}", reply, 16,
			   err, sizeof(err)) == 0 && strlen(reply) == 15, "a long answer is cut to its buffer");
	return tap_done();
}
