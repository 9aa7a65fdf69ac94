// The registry of the metrics cells (cells.hpp, hook_series.hpp): the
// cells of every thread and the tables of the live vhosts. Its lock is
// taken when a thread counts for the first time, when a vhost meets a
// hook it had not counted yet, and by a scrape; never on a hot path.

#include "metrics/cells.hpp"

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "metrics/hook_series.hpp"

namespace dja::metrics {

namespace {

struct registry {
  std::mutex mtx;
  std::vector<std::unique_ptr<thread_cells>> cells;
  std::vector<thread_cells*> unused; ///< left by threads that ended
  std::vector<std::weak_ptr<const vhost_series>> vhosts;
};

registry& reg() {
  static auto* r = new registry; // never destroyed: threads outlive main
  return *r;
}

/// Gives the cells back when their thread ends.
struct releaser {
  thread_cells* cells = nullptr;
  ~releaser() {
    if (cells == nullptr)
      return;
    auto& r = reg();
    std::lock_guard<std::mutex> guard{r.mtx};
    r.unused.push_back(cells);
  }
};

constexpr size_t max_hooks = 64; // hooks::count fits (server_context.hpp)

} // namespace

namespace detail {

bool enabled = true;

thread_cells& acquire() {
  static thread_local releaser owner;
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  if (!r.unused.empty()) {
    owner.cells = r.unused.back();
    r.unused.pop_back();
  } else {
    r.cells.push_back(std::make_unique<thread_cells>());
    owner.cells = r.cells.back().get();
  }
  return *owner.cells;
}

} // namespace detail

void set_enabled(bool on) {
  detail::enabled = on;
}

void for_each_thread(const std::function<void(const thread_cells&)>& f) {
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  for (auto& c : r.cells)
    f(*c);
}

// The label values, in the order of the enums (cells.hpp).
constexpr const char* conn_names[conn_kinds] = {
  "c2s", "c2s_tls", "websocket", "s2s_in", "s2s_out", "component"};
constexpr const char* stream_names[stream_kinds] = {"c2s", "s2s",
                                                    "component"};
constexpr const char* stanza_names[stanza_kinds] = {"message", "presence",
                                                    "iq"};

const char* name_of(conn_kind k) {
  return conn_names[static_cast<size_t>(k)];
}

const char* name_of(stream_kind k) {
  return stream_names[static_cast<size_t>(k)];
}

const char* name_of(stanza_kind k) {
  return stanza_names[static_cast<size_t>(k)];
}

// --- vhost tables ---

std::shared_ptr<vhost_series> vhost_series::make(std::string vhost) {
  auto t = std::make_shared<vhost_series>(std::move(vhost));
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  // Forget the tables of vhosts that are gone.
  auto& vs = r.vhosts;
  vs.erase(std::remove_if(vs.begin(), vs.end(),
                          [](auto& w) { return w.expired(); }),
           vs.end());
  vs.push_back(t);
  return t;
}

plugin_series& vhost_series::plugin(size_t idx, const std::string& name) {
  if (idx < plugins_.size())
    return *plugins_[idx];
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  while (plugins_.size() <= idx) {
    plugins_.push_back(std::make_unique<plugin_series>());
    index_.resize(plugins_.size() * max_hooks, nullptr);
  }
  plugins_[idx]->plugin = name;
  return *plugins_[idx];
}

hook_series& vhost_series::hook(size_t idx, uint8_t hook, const char* name) {
  auto slot = idx * max_hooks + hook;
  if (slot < index_.size() && index_[slot] != nullptr)
    return *index_[slot];
  auto& p = plugin(idx, idx < plugins_.size() ? plugins_[idx]->plugin : "");
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  p.hooks.push_back(std::make_unique<hook_series>());
  p.hooks.back()->hook = name;
  index_[slot] = p.hooks.back().get();
  return *index_[slot];
}

void for_each_vhost(const std::function<void(const vhost_series&)>& f) {
  auto& r = reg();
  std::lock_guard<std::mutex> guard{r.mtx};
  for (auto& w : r.vhosts)
    if (auto t = w.lock())
      f(*t);
}

} // namespace dja::metrics
