/* util_cdp.h: drive a headless Chromium through the Chrome DevTools
 * Protocol over --remote-debugging-pipe (JSON messages ended by a NUL byte,
 * commands on the browser's fd 3, replies and events on its fd 4). No
 * websocket and no npm: the test types, clicks and waits in real time, with
 * deadlines, instead of trusting a virtual-time budget. */
#ifndef TK_TESTS_UTIL_CDP_H
#define TK_TESTS_UTIL_CDP_H

#include <stddef.h>
#include <cjson/cJSON.h>

typedef struct t_cdp t_cdp;

/* Starts `chromium` headless with a fresh profile under profile_dir, opens
 * url in a new page and attaches to it. NULL on failure, the reason in err. */
t_cdp *t_cdp_open(const char *chromium, const char *profile_dir, const char *url, char *err, size_t errlen);

/* Sends method with params (taken over, may be NULL) to the page and waits
 * up to timeout_s for its reply. The reply's "result" (caller frees), or
 * NULL on error or timeout, the reason in err. */
cJSON *t_cdp_call(t_cdp *c, const char *method, cJSON *params, double timeout_s, char *err, size_t errlen);

/* Evaluates a JavaScript expression in the page: its value as a string
 * (strings as they are, other values as JSON; malloc'd), or NULL. */
char *t_cdp_eval(t_cdp *c, const char *expr, double timeout_s);

/* Clicks the left mouse button at page coordinates (x, y); 0 on success. */
int t_cdp_click(t_cdp *c, double x, double y);

/* Writes a PNG screenshot of the page; 0 on success. */
int t_cdp_screenshot(t_cdp *c, const char *png_path, char *err, size_t errlen);

/* Closes the browser (and kills its process group if it lingers). */
void t_cdp_close(t_cdp *c);

#endif
