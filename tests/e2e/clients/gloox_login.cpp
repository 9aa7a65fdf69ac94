// A gloox client that logs in once (tests/e2e/test_plus_gloox.py):
//   gloox_login HOST PORT JID PASSWORD
// STARTTLS required, every SASL mechanism gloox has (it picks
// SCRAM-SHA-1-PLUS when offered and its TLS layer has channel binding).
// Exits 0 once the session is established, 1 otherwise; the caller
// bounds the run.

#include <cstdio>
#include <cstdlib>

#include <gloox/client.h>
#include <gloox/connectionlistener.h>

using namespace gloox;

class login : public ConnectionListener {
public:
  explicit login(Client& c) : client_(c) {
  }

  void onConnect() override {
    ok = true;
    std::printf("session established\n");
    client_.disconnect();
  }

  void onDisconnect(ConnectionError e) override {
    if (!ok)
      std::fprintf(stderr, "disconnected: ConnectionError %d, AuthError %d\n",
                   static_cast<int>(e), static_cast<int>(client_.authError()));
  }

  bool onTLSConnect(const CertInfo& info) override {
    std::printf("TLS: %s, %s\n", info.protocol.c_str(), info.cipher.c_str());
    return true; // the test certificate is self-signed
  }

  bool ok = false;

private:
  Client& client_;
};

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s HOST PORT JID PASSWORD\n", argv[0]);
    return 2;
  }
  Client client(JID(argv[3]), argv[4], std::atoi(argv[2]));
  client.setServer(argv[1]);
  client.setTls(TLSRequired);
  client.setCompression(false);
  login l{client};
  client.registerConnectionListener(&l);
  client.connect(true); // blocks until disconnected
  return l.ok ? 0 : 1;
}
