/* Inside etcd/: one request to etcd's JSON gateway over the handle's endpoints (client.h says
 * when the next endpoint is tried), its answer parsed and checked to be a JSON object. */
#ifndef VMFS_ETCD_TRANSPORT_H
#define VMFS_ETCD_TRANSPORT_H
#include <json-c/json.h>

#include "etcd/client.h"

/* POSTs req (json, consumed) to path ("/v3/kv/range") and returns its answer in *reply (an
 * object, to json_object_put). An answer that is not HTTP 200 is an error that says etcd's
 * status, code and message. */
int etcd_call(struct etcd *c, const char *path, json_object *req, json_object **reply,
	      struct err *e);
#endif
