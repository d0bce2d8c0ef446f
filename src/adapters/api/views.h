#pragma once
// JSON views of runtime state shared by the REST API and the WebSocket event stream.
// Times are milliseconds since the Unix epoch (UTC); durations in seconds end in `_s`.

#include <nlohmann/json.hpp>

#include "core/engine.h"

namespace homeline::api {

nlohmann::json InteractionJson(const core::Interaction& ix);
// A consultation with a number (core::NumberConsult), as the call's view and the agent's
// "consult_number" frame show it: {"number","trunk","state":"ringing"|"answered"|"ended",
// "result","status","started","answered","ended"}.
nlohmann::json NumberConsultJson(const core::NumberConsult& k);
nlohmann::json AgentJson(const core::Engine& engine, core::TenantId tenant, core::UserId user);
nlohmann::json QueueStatsJson(const core::Engine& engine, const core::Queue& queue);
nlohmann::json MemberJson(const core::Engine& engine, core::TenantId tenant, core::UserId user);

}  // namespace homeline::api
