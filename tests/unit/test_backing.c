/* runtime/backing.c: what one file of a disk's chain names, from qemu-img info's JSON:
 * backing files and data files resolved as QEMU resolves them, and the names and formats
 * the chain check refuses. */
#include <errno.h>
#include <string.h>

#include "runtime/backing.h"
#include "tests/unit/tap.h"

static struct backing_layer l;
static struct err e;

static int parse(const char *json)
{
	err_clear(&e);
	return backing_parse(json, "/img/top.qcow2", &l, &e);
}

int main(void)
{
	ok(parse("{\"format\":\"qcow2\",\"backing-filename\":\"base.qcow2\","
		     "\"full-backing-filename\":\"/img/base.qcow2\",\"backing-filename-format\":\"qcow2\"}") == 0, "a qcow2 with a backing file");
	is_str(l.backing, "/img/base.qcow2", "the backing file, as QEMU resolved it");
	is_str(l.backing_format, "qcow2", "and its recorded format");
	ok(parse("{\"format\":\"qcow2\",\"backing-filename\":\"base.qcow2\","
		 "\"full-backing-filename\":\"/proc/7/fd/base.qcow2\"}") == 0, "read through /proc/PID/fd/N");
	is_str(l.backing, "/img/base.qcow2", "a relative name is resolved beside the real file, not under /proc");
	is_str(l.format, "qcow2", "its own format");
	ok(parse("{\"format\":\"qcow2\",\"backing-filename\":\"sub/base.raw\"}") == 0, "without full-backing-filename");
	is_str(l.backing, "/img/sub/base.raw", "a relative name is resolved beside the file naming it");
	is_str(l.backing_format, "", "no recorded format: empty (QEMU probes it)");
	ok(parse("{\"format\":\"qcow2\",\"full-backing-filename\":\"/etc/shadow\"}") == 0, "an absolute backing file is parsed (the path check refuses it)");
	is_str(l.backing, "/etc/shadow", "as it is");
	ok(parse("{\"format\":\"qcow2\",\"virtual-size\":17179869184}") == 0, "a 16 GiB qcow2");
	ok(l.size == 17179869184LL, "its virtual size (an overlay over it is made that size)");
	ok(parse("{\"format\":\"raw\"}") == 0, "a raw file");
	ok(l.size == 0, "no size said: 0");
	is_str(l.backing, "", "names no backing file");
	ok(parse("{\"format\":\"qcow2\",\"format-specific\":{\"type\":\"qcow2\",\"data\":"
		 "{\"data-file\":\"/img/d.raw\"}}}") == 0, "a qcow2 with an external data file");
	is_str(l.data_file, "/img/d.raw", "its data file");
	ok(parse("{\"format\":\"qcow2\",\"format-specific\":{\"data\":{\"data-file\":\"d.raw\"}}}") ==
		   -EPERM, "a relative data file is refused (QEMU opens it from its working directory)");
	ok(parse("{\"format\":\"qcow2\",\"full-backing-filename\":"
		     "\"json:{\\\"driver\\\":\\\"file\\\",\\\"filename\\\":\\\"/etc/shadow\\\"}\"}") == -EPERM, "a json: backing file is refused");
	ok(strstr(e.why, "which is not a file") != NULL, "saying why");
	ok(parse("{\"format\":\"qcow2\",\"backing-filename\":\"nbd://h:10809/x\"}") == -EPERM, "a protocol backing file is refused");
	ok(parse("{\"format\":\"qcow2\",\"backing-filename\":\"./a:b.qcow2\"}") == 0, "a colon after a slash is part of a file name");
	ok(parse("{\"format\":\"qcow2\",\"format-specific\":{\"data\":{\"data-file\":\"nbd:h:1\"}}}") == -EPERM, "a data file that is not a file is refused");
	ok(parse("{\"format\":\"vmdk\"}") == -EPERM, "a vmdk (extents name more files) is refused");
	ok(strstr(e.why, "only qcow2 and raw") != NULL, "saying which formats are taken");
	ok(parse("{\"filename\":\"/img/top.qcow2\"}") == -EPERM, "no format: refused");
	ok(parse("not json") == -EIO, "text that is not JSON");
	ok(parse("[1]") == -EIO, "JSON that is not an object");
	return tap_done();
}
