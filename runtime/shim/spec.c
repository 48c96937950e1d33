/* The spec file: key=value lines written by vmfs (shim.h). Unknown keys are ignored, so
 * an older shim still runs a spec from a newer vmfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl/ctl.h"
#include "runtime/cgroup.h"
#include "runtime/shim/shim_int.h"
#include "runtime/util.h"

/* An empty value is 0 (no limit, no pipes): vmfs writes config values as they are. */
static int parse_u64(const char *key, const char *v, uint64_t *out, char *err)
{
	char *end;
	if (!*v)
		return *out = 0, 0;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v || *end || *v == '-')
		return shim_msg(err, "spec: %s=%s is not a number", key, v);
	*out = n;
	return 0;
}

/* "/host:/guest[:ro|:rw]"; the host path ends at the first ':'. */
static int parse_volume(struct spec *s, char *v, char *err)
{
	if (s->nvol >= SPEC_MAXVOL)
		return shim_msg(err, "spec: more than %d volumes", SPEC_MAXVOL);
	struct volume *vol = &s->vol[s->nvol];
	size_t n = strlen(v);
	vol->ro = n > 3 && !strcmp(v + n - 3, ":ro");
	if (vol->ro || (n > 3 && !strcmp(v + n - 3, ":rw")))
		v[n - 3] = 0;
	char *colon = strchr(v, ':');
	if (!colon || v[0] != '/' || colon[1] != '/')
		return shim_msg(err, "spec: volume=%s is not /host:/guest[:ro]", v);
	*colon = 0;
	vol->host = v;
	vol->guest = colon + 1;
	s->nvol++;
	return 0;
}

/* "UID:GID:COUNT": container ids 0..COUNT-1 are host UID.. and GID.. */
static int parse_userns(struct spec *s, const char *v, char *err)
{
	unsigned long long u, g, c;
	int end = 0;
	if (sscanf(v, "%llu:%llu:%llu%n", &u, &g, &c, &end) != 3 || v[end] || *v == '-' ||
	    !c || c > UINT32_MAX || u + c > UINT32_MAX || g + c > UINT32_MAX || strchr(v, '-') ||
	    strchr(v, ' ') || strchr(v, '+'))
		return shim_msg(err, "spec: userns=%s is not UID:GID:COUNT", v);
	s->userns = true;
	s->ur = (struct userns_range){(uint32_t)u, (uint32_t)g, (uint32_t)c};
	return 0;
}

static int parse_init(struct spec *s, char *v, char *err)
{
	int n = ctl_split(v, s->init, SPEC_MAXARGS, err, ERRLEN);
	if (n < 0)
		return -1;
	if (n == 0)
		return shim_msg(err, "spec: init= is empty (config/init names the program to run)");
	s->init[n] = NULL;
	return 0;
}

static int parse_line(struct spec *s, char *line, char *err)
{
	char *v = strchr(line, '=');
	if (!v)
		return *line ? shim_msg(err, "spec: line \"%s\" has no '='", line) : 0;
	*v++ = 0;
	uint64_t n;
	if (!strcmp(line, "cgroup"))
		cg_set_top(v); /* the top group of the vmfs that started us */
	else if (!strcmp(line, "namespace"))
		s->ns = v;
	else if (!strcmp(line, "name"))
		s->name = v;
	else if (!strcmp(line, "hostname"))
		s->hostname = v;
	else if (!strcmp(line, "rootfs"))
		s->rootfs = v;
	else if (!strcmp(line, "imagedir"))
		s->imagedir = *v ? v : NULL;
	else if (!strcmp(line, "image"))
		s->image = *v ? v : NULL;
	else if (!strcmp(line, "netns"))
		s->netns = *v ? v : NULL;
	else if (!strcmp(line, "usernsfile"))
		s->usernsfile = *v ? v : NULL;
	else if (!strcmp(line, "preinit"))
		s->preinit = *v ? v : NULL;
	else if (!strcmp(line, "snapshot"))
		s->snapshot = !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
			      !strcasecmp(v, "on") || !strcmp(v, "1"); /* as ctl's value_bool */
	else if (!strcmp(line, "init"))
		return parse_init(s, v, err);
	else if (!strcmp(line, "memory"))
		return parse_u64(line, v, &s->lim.memory, err);
	else if (!strcmp(line, "pids"))
		return parse_u64(line, v, &s->lim.pids, err);
	else if (!strcmp(line, "cpus"))
		s->lim.cpus = strtod(v, NULL);
	else if (!strcmp(line, "fifos")) {
		if (parse_u64(line, v, &n, err))
			return -1;
		if (n > SPEC_MAXFIFO)
			return shim_msg(err, "spec: fifos=%s: at most %d", v, SPEC_MAXFIFO);
		s->fifos = n;
	} else if (!strcmp(line, "volume"))
		return parse_volume(s, v, err);
	else if (!strcmp(line, "userns"))
		return parse_userns(s, v, err);
	return 0;
}

int spec_load(struct spec *s, char *err)
{
	size_t len;
	int r = read_small(AT_FDCWD, "spec", 1 << 16, &s->buf, &len);
	if (r < 0) {
		errno = -r;
		return shim_fail(err, NULL, "spec");
	}
	for (char *line = s->buf, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		if (parse_line(s, line, err))
			return -1;
	}
	if (!s->ns || !*s->ns || !s->name || !*s->name)
		return shim_msg(err, "spec: namespace= and name= are required");
	if (!s->rootfs || s->rootfs[0] != '/')
		return shim_msg(err, "spec: rootfs= must be an absolute path");
	if (!s->image != !s->imagedir || (s->imagedir && s->imagedir[0] != '/'))
		return shim_msg(err, "spec: image= needs imagedir=, an absolute path");
	if (!s->init[0])
		return shim_msg(err, "spec: init= is missing");
	/* a user namespace can join no network namespace but one it owns */
	if (s->userns && s->netns && !s->usernsfile)
		return shim_msg(err, "spec: netns= with userns= needs usernsfile= (the user "
				"namespace that owns it)");
	if (s->usernsfile && (!s->userns || !s->netns))
		return shim_msg(err, "spec: usernsfile= goes with userns= and netns=");
	if (!s->hostname || !*s->hostname)
		s->hostname = s->name;
	return 0;
}
