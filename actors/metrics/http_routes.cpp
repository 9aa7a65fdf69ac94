// GET /metrics and GET /health (http_routes.hpp).

#include "metrics/http_routes.hpp"

#include <chrono>
#include <string>

#include <caf/all.hpp>

#include "metrics/exposition.hpp"
#include "metrics/metrics.hpp"
#include "web/http.hpp"

namespace dja::metrics {

namespace {

caf::behavior http_routes(caf::event_based_actor* self) {
  return {
    [self](web::request& r) -> caf::result<web::response> {
      auto m = find(self->system());
      bool health = r.path == "/health";
      if (!health && r.path != "/metrics")
        return web::response::text(404, "not found\n");
      if (!m)
        return web::response::text(503, "starting\n");
      auto rp = self->make_response_promise<web::response>();
      auto failed = [rp](caf::error&) mutable {
        rp.deliver(web::response::text(503, "metrics: no answer\n"));
      };
      if (health)
        self->request(m, std::chrono::seconds(5), health_atom::value)
          .then(
            [rp](bool ok, std::string& reason) mutable {
              rp.deliver(ok ? web::response::text(200, "ok\n")
                            : web::response::text(503, reason + "\n"));
            },
            failed);
      else
        self->request(m, std::chrono::seconds(5), scrape_atom::value)
          .then(
            [rp](std::string& body) mutable {
              rp.deliver(web::response::text(200, std::move(body),
                                             content_type));
            },
            failed);
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_http_routes(caf::actor_system& sys) {
  return sys.spawn(http_routes);
}

} // namespace dja::metrics
