/* The daemon's state as a whole: the model, this host's name, host/log, images/. */
#include <string.h>
#include <unistd.h>

#include "vmfs/kinds.h"

int vmfs_init(struct vmfs *v, struct vmfs_conf *conf, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->conf = conf;
	v->owner = getuid();
	v->group = getgid();
	if (gethostname(v->hostname, sizeof(v->hostname)) < 0 || !v->hostname[0] ||
	    name_check(v->hostname, err, errlen))
		snprintf(v->hostname, sizeof(v->hostname), "localhost");
	char images[4200];
	if (*conf->images)
		snprintf(images, sizeof(images), "%s", conf->images);
	else
		snprintf(images, sizeof(images), "%s/images", conf->state);
	int r = model_open(&v->m, conf->state, images, err, errlen);
	if (r)
		return r;
	evlog_init(&v->log, v->m.statefd, "log");
	v->images = imgtab_new();
	v->stats = hoststats_new();
	if (!v->images || !v->stats)
		return -ENOMEM;
	return 0;
}

void vmfs_fini(struct vmfs *v)
{
	imgtab_free(v->images);
	hoststats_free(v->stats);
	model_close(&v->m);
}
