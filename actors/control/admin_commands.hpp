#pragma once

// The operator's commands about sessions and accounts (commands.hpp
// lists them all): stats, sessions, kick, roster show, broadcast.
// Internal to actors/control/.

#include <string>
#include <vector>

#include "control/commands.hpp"

namespace dja::control {

using args_t = std::vector<std::string>;

response stats(const args_t& args, const server_view& sv);
response sessions(const args_t& args, const server_view& sv);
response kick(const args_t& args, const server_view& sv);
response roster(const args_t& args, const server_view& sv);
response broadcast(const args_t& args, const server_view& sv);

} // namespace dja::control
