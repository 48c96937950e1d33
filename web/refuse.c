/* Refusals of the HTTP door in host/log (web_int.h), with who was refused, for the admin
 * reading it; evlog escapes control bytes, so a URL cannot forge a line. */
#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#include "web/web_int.h"

#define REFUSE_WINDOW 10 /* s */
#define REFUSE_BURST 200 /* refusals logged in a window: a flood must not fill host/log */

void web_refuse_flush(struct web *w, time_t now)
{
	if (now / REFUSE_WINDOW == w->refuse_win)
		return;
	if (w->unlogged)
		evlog_add(&w->v->log, "error: http: %u more refusals in %d s were not logged (a "
			  "flood)", w->unlogged, REFUSE_WINDOW);
	w->refuse_win = now / REFUSE_WINDOW;
	w->refused = w->unlogged = 0;
}

void web_addr(const struct sockaddr *sa, char out[WEB_ADDR_MAX])
{
	snprintf(out, WEB_ADDR_MAX, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, WEB_ADDR_MAX);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, WEB_ADDR_MAX);
}

void web_refuse(struct web *w, const struct sockaddr *from, const char *what, const char *user,
		const char *why)
{
	web_refuse_flush(w, time(NULL));
	if (++w->refused > REFUSE_BURST) {
		w->unlogged++;
		return;
	}
	char addr[WEB_ADDR_MAX];
	web_addr(from, addr);
	evlog_add(&w->v->log, "error: http %s from %s%s%.64s: refused: %s", what, addr,
		  user ? " as " : "", user ? user : "", why);
}
