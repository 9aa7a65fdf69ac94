#pragma once

// The JSON form of every hook of the catalogue (actors/hooks/catalogue.hpp)
// for the `external` plugin's jsonl protocol (docs/plugins.md, "The jsonl
// protocol"): a request's fields become the `params` object of a JSON-RPC
// 2.0 call whose `method` is the hook's name, and a `result` becomes the
// hook's answer (null = declined). One table of fields per hook (in
// jsonl_codec.cpp) and one decoder per answer type serve every hook, so a
// hook added to the catalogue needs one line here and none elsewhere.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hooks/catalogue.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::json)

namespace dja::plugins::external::jsonl {

using json = nlohmann::json;

/// The `params` of a call of each hook: its request's fields by name.
#define DJA_JSONL_PARAMS(h) json params_of(const hooks::h& req);
DJA_HOOK_LIST(DJA_JSONL_PARAMS)
#undef DJA_JSONL_PARAMS

/// Reads a non-null `result` into the value of an answer: "" or what is
/// wrong with it (e.g. "a boolean").
std::string decode(const json& j, bool& out);
std::string decode(const json& j, std::string& out);
std::string decode(const json& j, std::vector<std::string>& out);
std::string decode(const json& j, hooks::account_result& out);
std::string decode(const json& j, hooks::scram_credentials& out);
std::string decode(const json& j, xml::element_ptr& out);
std::string decode(const json& j, std::vector<xml::element_ptr>& out);
std::string decode(const json& j, hooks::filter_verdict& out);
std::string decode(const json& j, hooks::delivery_verdict& out);
std::string decode(const json& j, std::vector<hooks::offline_message>& out);
std::string decode(const json& j, hooks::roster& out);
std::string decode(const json& j, std::vector<hooks::roster_item>& out);

/// The hooks a program lists in its `initialize` result, by name: the
/// hooks, or "" in `err` and what is wrong.
std::vector<hooks::hook_id> hooks_of(const json& names, std::string& err);

} // namespace dja::plugins::external::jsonl
