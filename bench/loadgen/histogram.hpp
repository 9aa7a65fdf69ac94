// A log-linear histogram of non-negative integers (we store nanoseconds):
// exact below 64, then 64 buckets per power of two, so a reported percentile
// is at most ~1.6 % above the true value. Constant memory (30 KB), mergeable,
// O(1) to record: cheap enough for every message at any rate.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace lg {

class histogram {
public:
  static constexpr int sub_bits = 6;
  static constexpr uint64_t sub = uint64_t{1} << sub_bits;

  histogram() : counts_((64 - sub_bits + 1) * sub, 0) {}

  void add(uint64_t v) {
    ++counts_[index(v)];
    ++n_;
    max_ = std::max(max_, v);
  }

  void merge(const histogram& o) {
    for (size_t i = 0; i < counts_.size(); ++i)
      counts_[i] += o.counts_[i];
    n_ += o.n_;
    max_ = std::max(max_, o.max_);
  }

  uint64_t count() const { return n_; }
  uint64_t max() const { return max_; }

  /// Smallest recorded bucket bound below which p percent of values lie.
  uint64_t percentile(double p) const {
    if (n_ == 0)
      return 0;
    auto rank = static_cast<uint64_t>(std::ceil(p / 100.0 * double(n_)));
    rank = std::clamp<uint64_t>(rank, 1, n_);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank)
        return std::min(upper_bound(i), max_);
    }
    return max_;
  }

private:
  static size_t index(uint64_t v) {
    if (v < sub)
      return size_t(v);
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - sub_bits;
    return size_t(sub + uint64_t(shift) * sub + ((v >> shift) - sub));
  }

  static uint64_t upper_bound(size_t i) {
    if (i < sub)
      return i;
    uint64_t shift = (i - sub) / sub;
    uint64_t low = (sub + (i - sub) % sub) << shift;
    return low + ((uint64_t{1} << shift) - 1);
  }

  std::vector<uint64_t> counts_;
  uint64_t n_ = 0;
  uint64_t max_ = 0;
};

} // namespace lg
