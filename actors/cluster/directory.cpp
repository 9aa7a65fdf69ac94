#include "cluster/directory.hpp"

#include <algorithm>
#include <mutex>

namespace dja::cluster {

bool newer(uint64_t stamp_a, const std::string& node_a, uint64_t stamp_b,
           const std::string& node_b) {
  return stamp_a != stamp_b ? stamp_a > stamp_b : node_a > node_b;
}

namespace {

bool same(const entry& e, const std::string& resource,
          const std::string& node) {
  return e.resource == resource && e.node == node;
}

} // namespace

void directory::upsert(const std::string& bare, entry e) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  upsert_locked(bare, std::move(e));
}

void directory::upsert_locked(const std::string& bare, entry e) {
  auto& es = users_[bare];
  for (auto& x : es)
    if (same(x, e.resource, e.node)) {
      x = std::move(e);
      return;
    }
  ++by_node_[e.node][bare];
  es.push_back(std::move(e));
}

bool directory::set_presence(const std::string& bare,
                             const std::string& resource,
                             const std::string& node, bool available,
                             int priority, xml::element_ptr presence) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = users_.find(bare);
  if (i == users_.end())
    return false;
  for (auto& x : i->second)
    if (same(x, resource, node)) {
      x.available = available;
      x.priority = priority;
      x.presence = available ? std::move(presence) : nullptr;
      return true;
    }
  return false;
}

void directory::erase_if_empty(const std::string& bare) {
  auto i = users_.find(bare);
  if (i != users_.end() && i->second.empty())
    users_.erase(i);
}

std::optional<entry> directory::remove(const std::string& bare,
                                       const std::string& resource,
                                       const std::string& node) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto i = users_.find(bare);
  if (i == users_.end())
    return std::nullopt;
  auto& es = i->second;
  auto j = std::find_if(es.begin(), es.end(), [&](const entry& x) {
    return same(x, resource, node);
  });
  if (j == es.end())
    return std::nullopt;
  auto out = std::move(*j);
  es.erase(j);
  erase_if_empty(bare);
  auto n = by_node_.find(node);
  if (n != by_node_.end()) {
    auto k = n->second.find(bare);
    if (k != n->second.end() && --k->second == 0)
      n->second.erase(k);
    if (n->second.empty())
      by_node_.erase(n);
  }
  return out;
}

std::vector<directory::item> directory::remove_node(const std::string& node) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  return remove_node_locked(node);
}

std::vector<directory::item>
directory::remove_node_locked(const std::string& node) {
  std::vector<item> out;
  auto n = by_node_.find(node);
  if (n == by_node_.end())
    return out;
  for (auto& [bare, count] : n->second) {
    auto i = users_.find(bare);
    if (i == users_.end())
      continue;
    auto& es = i->second;
    auto first = std::stable_partition(
      es.begin(), es.end(), [&](const entry& e) { return e.node != node; });
    for (auto j = first; j != es.end(); ++j)
      out.emplace_back(bare, std::move(*j));
    es.erase(first, es.end());
    erase_if_empty(bare);
  }
  by_node_.erase(n);
  return out;
}

std::vector<directory::item>
directory::replace_node(const std::string& node, std::vector<item> snapshot) {
  // One critical section: a reader never sees the node's users gone.
  std::unique_lock<std::shared_mutex> guard{mtx_};
  auto before = remove_node_locked(node);
  std::vector<item> gone;
  for (auto& b : before) {
    auto kept = std::any_of(snapshot.begin(), snapshot.end(),
                            [&](const item& s) {
                              return s.first == b.first
                                     && s.second.resource == b.second.resource;
                            });
    if (!kept)
      gone.push_back(std::move(b));
  }
  for (auto& s : snapshot) {
    s.second.node = node;
    upsert_locked(s.first, std::move(s.second));
  }
  return gone;
}

std::vector<entry> directory::find(const std::string& bare) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = users_.find(bare);
  return i == users_.end() ? std::vector<entry>{} : i->second;
}

std::optional<entry> directory::find_full(const std::string& bare,
                                          const std::string& resource) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto i = users_.find(bare);
  if (i == users_.end())
    return std::nullopt;
  const entry* best = nullptr;
  for (auto& e : i->second)
    if (e.resource == resource
        && (best == nullptr || newer(e.stamp, e.node, best->stamp, best->node)))
      best = &e;
  if (best == nullptr)
    return std::nullopt;
  return *best;
}

uint64_t directory::max_stamp(const std::string& bare,
                              const std::string& resource) const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  uint64_t res = 0;
  auto i = users_.find(bare);
  if (i != users_.end())
    for (auto& e : i->second)
      if (e.resource == resource)
        res = std::max(res, e.stamp);
  return res;
}

std::map<std::string, size_t> directory::counts() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  std::map<std::string, size_t> out;
  for (auto& [node, users] : by_node_) {
    size_t n = 0;
    for (auto& [bare, count] : users)
      n += count;
    out[node] = n;
  }
  return out;
}

size_t directory::size() const {
  std::shared_lock<std::shared_mutex> guard{mtx_};
  size_t n = 0;
  for (auto& [bare, es] : users_)
    n += es.size();
  return n;
}

} // namespace dja::cluster
