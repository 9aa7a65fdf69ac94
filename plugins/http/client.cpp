// The libcurl multi loop of the `http` plugin (plugins/http/client.hpp).

#include "plugins/http/client.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <curl/curl.h>
#include <spdlog/spdlog.h>

namespace dja::plugins::http {

namespace {

/// One transfer in flight, CURLOPT_PRIVATE of its easy handle.
struct transfer {
  uint64_t id = 0;
  request req;
  caf::actor reply_to;
  size_t cap = 0;
  bool too_large = false;
  std::string body;
  curl_slist* headers = nullptr;
};

size_t on_data(char* data, size_t size, size_t n, void* user) {
  auto t = static_cast<transfer*>(user);
  auto len = size * n;
  if (t->body.size() + len > t->cap) {
    t->too_large = true;
    return 0; // CURLE_WRITE_ERROR: the transfer stops here
  }
  t->body.append(data, len);
  return len;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

} // namespace

struct client::impl {
  client_options opts;
  CURLM* multi = nullptr;
  std::mutex mtx;
  std::deque<transfer*> queued;
  std::atomic<bool> stop{false};
  std::thread thread;
  std::set<CURL*> live; ///< the loop thread's only

  CURL* make_easy(transfer* t) {
    auto e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, t->req.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(opts.timeout.count()));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(opts.max_response_bytes));
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, opts.tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, opts.tls_verify ? 2L : 0L);
    if (!opts.ca_file.empty())
      curl_easy_setopt(e, CURLOPT_CAINFO, opts.ca_file.c_str());
    if (!opts.basic_user.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(e, CURLOPT_USERNAME, opts.basic_user.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, opts.basic_password.c_str());
    }
    if (t->req.post) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                       static_cast<long>(t->req.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->req.body.c_str());
      auto h = "Content-Type: " + t->req.content_type;
      t->headers = curl_slist_append(nullptr, h.c_str());
      curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    }
    return e;
  }

  void finish(CURL* e, CURLcode code) {
    transfer* t = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &t);
    done d;
    d.id = t->id;
    if (t->too_large || code == CURLE_FILESIZE_EXCEEDED) {
      d.r.error = "response larger than max_response_bytes ("
                  + std::to_string(opts.max_response_bytes) + ")";
    } else if (code != CURLE_OK) {
      d.r.error = curl_easy_strerror(code);
    } else {
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &d.r.status);
      d.r.body = std::move(t->body);
    }
    caf::anon_send(t->reply_to, std::move(d));
    live.erase(e);
    curl_multi_remove_handle(multi, e);
    curl_easy_cleanup(e);
    curl_slist_free_all(t->headers);
    delete t;
  }

  void run() {
    int running = 0;
    while (!stop) {
      std::deque<transfer*> fresh;
      {
        std::lock_guard<std::mutex> guard{mtx};
        fresh.swap(queued);
      }
      for (auto t : fresh) {
        auto e = make_easy(t);
        live.insert(e);
        curl_multi_add_handle(multi, e);
      }
      curl_multi_perform(multi, &running);
      int left = 0;
      while (auto m = curl_multi_info_read(multi, &left))
        if (m->msg == CURLMSG_DONE)
          finish(m->easy_handle, m->data.result);
      // Woken by curl_multi_wakeup() on a submit or the stop.
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }

  void drop_all() {
    for (auto e : live) {
      transfer* t = nullptr;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &t);
      curl_multi_remove_handle(multi, e);
      curl_easy_cleanup(e);
      curl_slist_free_all(t->headers);
      delete t;
    }
    live.clear();
    for (auto t : queued)
      delete t;
    queued.clear();
  }
};

client::client(client_options opts) : impl_(std::make_unique<impl>()) {
  global_init();
  impl_->opts = std::move(opts);
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    impl_->opts.max_connections);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS,
                    impl_->opts.max_connections);
  impl_->thread = std::thread{[p = impl_.get()] { p->run(); }};
}

client::~client() {
  impl_->stop = true;
  curl_multi_wakeup(impl_->multi);
  impl_->thread.join();
  impl_->drop_all();
  curl_multi_cleanup(impl_->multi);
}

void client::submit(uint64_t id, request req, caf::actor reply_to) {
  auto t = new transfer;
  t->id = id;
  t->req = std::move(req);
  t->reply_to = std::move(reply_to);
  t->cap = impl_->opts.max_response_bytes;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->queued.push_back(t);
  }
  curl_multi_wakeup(impl_->multi);
}

const client_options& client::options() const {
  return impl_->opts;
}

std::string url_encode(const std::string& s) {
  global_init();
  auto p = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out = p != nullptr ? p : "";
  curl_free(p);
  return out;
}

} // namespace dja::plugins::http
