#include "runtime/qmp_allow.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/util.h"

static const char *const lifecycle[] = {"stop", "cont", "system_reset", "system_powerdown",
					"system_wakeup", NULL};

static bool allowed(const char *name)
{
	if (!strncmp(name, "query-", 6) && name[6])
		return true;
	for (int i = 0; lifecycle[i]; i++)
		if (!strcmp(name, lifecycle[i]))
			return true;
	return false;
}

int qmp_allow(const char *cmd, char **plain, char *why, size_t whylen)
{
	json_object *j = json_tokener_parse(cmd), *ex;
	*plain = NULL;
	if (!j || !json_object_is_type(j, json_type_object) ||
	    !json_object_object_get_ex(j, "execute", &ex) ||
	    !json_object_is_type(ex, json_type_string)) {
		json_object_put(j);
		snprintf(why, whylen, "not a QMP command: write one JSON object such as "
				      "{\"execute\":\"query-status\"}");
		return -EINVAL;
	}
	const char *name = json_object_get_string(ex);
	int r = 0;
	if (json_object_object_get_ex(j, "exec-oob", NULL)) {
		snprintf(why, whylen, "exec-oob: only host root may send out-of-band commands");
		r = -EPERM;
	} else if (!allowed(name)) {
		char q[80];
		snprintf(why, whylen, "%s: only host root may send it (it may reach the host); "
			 "others may send query-* and stop, cont, system_reset, system_powerdown, "
			 "system_wakeup", ctl_quote(name, strlen(name), q, sizeof(q)));
		r = -EPERM;
	} else if (!(*plain = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN)))) {
		r = -ENOMEM;
	}
	json_object_put(j);
	return r;
}
