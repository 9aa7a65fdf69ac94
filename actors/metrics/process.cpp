// Process metrics from /proc (process.hpp), named as Prometheus' client
// libraries name them (the "process collector").

#include "metrics/process.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace dja::metrics {

namespace {

/// The fields of /proc/self/stat after the command name (field 3 on).
std::vector<std::string> stat_fields() {
  std::ifstream in{"/proc/self/stat"};
  std::string all{std::istreambuf_iterator<char>(in), {}};
  auto close = all.rfind(')'); // the command name may hold spaces
  std::vector<std::string> out;
  if (close == std::string::npos)
    return out;
  std::istringstream rest{all.substr(close + 1)};
  for (std::string f; rest >> f;)
    out.push_back(f);
  return out;
}

/// The boot time (btime of /proc/stat), seconds since the epoch; 0 if
/// unknown.
long long boot_time() {
  std::ifstream in{"/proc/stat"};
  for (std::string key; in >> key;) {
    if (key == "btime") {
      long long t = 0;
      in >> t;
      return t;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

long long open_fds() {
  auto* d = ::opendir("/proc/self/fd");
  if (d == nullptr)
    return -1;
  long long n = 0;
  while (auto* e = ::readdir(d))
    if (e->d_name[0] != '.')
      ++n;
  ::closedir(d);
  return n - 1; // the directory stream's own descriptor
}

} // namespace

void write_process(exposition& out) {
  using type = exposition::type;
  auto f = stat_fields();
  // Field numbers of proc(5) minus 3 (the fields start at `state`).
  constexpr size_t utime = 14 - 3, stime = 15 - 3, starttime = 22 - 3,
                   vsize = 23 - 3, rss = 24 - 3;
  auto tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (f.size() > rss && tick > 0) {
    out.family("process_cpu_seconds_total", type::counter,
               "Total user and system CPU time spent in seconds.");
    out.sample({}, (std::stod(f[utime]) + std::stod(f[stime])) / tick);
    if (auto boot = boot_time(); boot > 0) {
      out.family("process_start_time_seconds", type::gauge,
                 "Start time of the process since unix epoch in seconds.");
      out.sample({}, static_cast<double>(boot) + std::stod(f[starttime]) / tick);
    }
    out.family("process_virtual_memory_bytes", type::gauge,
               "Virtual memory size in bytes.");
    out.sample({}, static_cast<int64_t>(std::stoll(f[vsize])));
    out.family("process_resident_memory_bytes", type::gauge,
               "Resident memory size in bytes.");
    out.sample({}, static_cast<int64_t>(std::stoll(f[rss]))
                     * static_cast<int64_t>(::sysconf(_SC_PAGESIZE)));
  }
  if (auto n = open_fds(); n >= 0) {
    out.family("process_open_fds", type::gauge,
               "Number of open file descriptors.");
    out.sample({}, static_cast<int64_t>(n));
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    out.family("process_max_fds", type::gauge,
               "Maximum number of open file descriptors.");
    out.sample({}, lim.rlim_cur == RLIM_INFINITY
                     ? static_cast<int64_t>(-1)
                     : static_cast<int64_t>(lim.rlim_cur));
  }
}

} // namespace dja::metrics
