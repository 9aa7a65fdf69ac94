/* A libstrophe client that logs in once (tests/e2e/test_plus_libstrophe.py):
 *   libstrophe_login HOST PORT JID PASSWORD [-v]
 * TLS mandatory, the self-signed test certificate trusted; libstrophe picks
 * its best SASL mechanism (SCRAM-*-PLUS when offered). Exits 0 once the
 * session is established, 1 otherwise; the caller bounds the run. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strophe.h>

static int established = 0;

static void on_conn(xmpp_conn_t* conn, xmpp_conn_event_t status, int error,
                    xmpp_stream_error_t* stream_error, void* userdata) {
  xmpp_ctx_t* ctx = userdata;
  (void) stream_error;
  if (status == XMPP_CONN_CONNECT) {
    established = 1;
    printf("session established (TLS %s)\n",
           xmpp_conn_is_secured(conn) ? "on" : "off");
    xmpp_disconnect(conn);
    return;
  }
  if (!established)
    fprintf(stderr, "connection ended: event %d, error %d\n", (int) status,
            error);
  xmpp_stop(ctx);
}

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s HOST PORT JID PASSWORD [-v]\n", argv[0]);
    return 2;
  }
  int verbose = argc > 5 && strcmp(argv[5], "-v") == 0;
  xmpp_initialize();
  xmpp_log_t* log = verbose ? xmpp_get_default_logger(XMPP_LEVEL_DEBUG)
                            : NULL;
  xmpp_ctx_t* ctx = xmpp_ctx_new(NULL, log);
  xmpp_conn_t* conn = xmpp_conn_new(ctx);
  xmpp_conn_set_flags(conn, XMPP_CONN_FLAG_MANDATORY_TLS
                              | XMPP_CONN_FLAG_TRUST_TLS);
  xmpp_conn_set_jid(conn, argv[3]);
  xmpp_conn_set_pass(conn, argv[4]);
  if (xmpp_connect_client(conn, argv[1], (unsigned short) atoi(argv[2]),
                          on_conn, ctx)
      != XMPP_EOK) {
    fprintf(stderr, "xmpp_connect_client failed\n");
    return 1;
  }
  xmpp_run(ctx);
  xmpp_conn_release(conn);
  xmpp_ctx_free(ctx);
  xmpp_shutdown();
  return established ? 0 : 1;
}
