// The memory trimmer (see memory_trim.hpp).

#include "server/memory_trim.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "listener/connection_limits.hpp"

namespace dja {

namespace {

using trim_atom = caf::atom_constant<caf::atom("memtrim")>;

/// How often the connection count is looked at.
constexpr auto period = std::chrono::seconds(5);

/// Smaller waves are not worth a trim (it walks every arena).
constexpr std::size_t min_wave = 100;

struct trimmer_state {
  static inline const char* name = "memory_trimmer";
  std::shared_ptr<connection_limits> counts;
  std::size_t high = 0; ///< most connections seen since the last trim
};

caf::behavior trimmer(caf::stateful_actor<trimmer_state>* self,
                      std::shared_ptr<connection_limits> counts) {
  self->state.counts = std::move(counts);
  self->delayed_send(self, period, trim_atom::value);
  return {
    [self](trim_atom) {
      auto& st = self->state;
      auto now = st.counts->total();
      st.high = std::max(st.high, now);
      if (st.high >= min_wave && now <= st.high / 2) {
        auto t0 = std::chrono::steady_clock::now();
        malloc_trim(0);
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
        spdlog::debug("connections fell from {} to {}: memory returned "
                      "(malloc_trim, {} us)",
                      st.high, now, us);
        st.high = now;
      }
      self->delayed_send(self, period, trim_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_memory_trimmer(caf::actor_system& sys,
                                std::shared_ptr<connection_limits> counts) {
  return sys.spawn(trimmer, std::move(counts));
}

} // namespace dja
