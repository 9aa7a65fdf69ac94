#pragma once

// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): one
// family at a time, its `# HELP` and `# TYPE` lines, then its samples,
// label values escaped (\\, \", \n), histograms as cumulative
// `_bucket{le=...}` lines ending with `le="+Inf"`, then `_sum` and
// `_count`. Served as `text/plain; version=0.0.4; charset=utf-8`.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/cells.hpp"

namespace dja::metrics {

/// The Content-Type of the text this writes.
inline constexpr const char* content_type
  = "text/plain; version=0.0.4; charset=utf-8";

/// One label: name (a valid Prometheus label name) and value (any text).
using label = std::pair<std::string_view, std::string_view>;
using labels = std::vector<label>;

class exposition {
public:
  enum class type { counter, gauge, histogram };

  /// Starts the family `name`: its HELP line (`help` escaped) and TYPE
  /// line. Samples that follow belong to it.
  void family(std::string_view name, type t, std::string_view help);

  /// A sample of the current counter or gauge family.
  void sample(const labels& ls, int64_t value);
  void sample(const labels& ls, double value);

  /// A sample of the current histogram family (bounds_s, cells.hpp).
  void sample(const labels& ls, const histogram_sum& h);

  /// The text so far (the exposition ends with a newline).
  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

private:
  void line(std::string_view suffix, const labels& ls,
            const label* extra, std::string_view value);

  std::string out_;
  std::string name_;
};

/// A label value or HELP text escaped: `\` and newline always, `"` in
/// label values (`quote`).
std::string escape(std::string_view s, bool quote);

/// A sample value as Prometheus writes it: shortest round-trip decimal,
/// `+Inf`, `-Inf`, `NaN`.
std::string format_value(double v);

} // namespace dja::metrics
