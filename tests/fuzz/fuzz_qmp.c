/* libFuzzer target for QMP replies (runtime/qmp.c: qmp_reply_parse), one line as QEMU, or
 * whatever holds its socket, sends it. Built and run by `make fuzz` and tests/fuzz/run. The
 * first byte picks the reply and error buffer sizes (reply may be NULL), so that truncation
 * is exercised too; an answer copied whole must be JSON again. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t lens[] = {0, 1, 16, 4096};
	if (!size)
		return 0;
	size_t replylen = lens[data[0] & 3], errlen = lens[(data[0] >> 2) & 3];
	char *line = malloc(size), *reply = replylen ? malloc(replylen) : NULL,
	     *err = malloc(errlen ? errlen : 1);
	if (!line || !err || (replylen && !reply))
		goto out;
	memcpy(line, data + 1, size - 1);
	line[size - 1] = 0;
	int r = qmp_reply_parse(line, reply, replylen, err, errlen);
	if (r != 0 && r != 1 && r != -EIO)
		abort();
	if (r == 0 && reply && strlen(reply) + 1 < replylen) {
		json_object *again = json_tokener_parse(reply);
		if (!again && strcmp(reply, "null"))
			abort();
		json_object_put(again);
	}
out:
	free(line);
	free(reply);
	free(err);
	return 0;
}
