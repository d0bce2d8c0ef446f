#pragma once
// JSON views of runtime state shared by the REST API and the WebSocket event stream.
// Times are milliseconds since the Unix epoch (UTC); durations in seconds end in `_s`.

#include <nlohmann/json.hpp>

#include "core/engine.h"

namespace homeline::api {

nlohmann::json InteractionJson(const core::Interaction& ix);
nlohmann::json AgentJson(const core::Engine& engine, core::TenantId tenant, core::UserId user);
nlohmann::json QueueStatsJson(const core::Engine& engine, const core::Queue& queue);
nlohmann::json MemberJson(const core::Engine& engine, core::TenantId tenant, core::UserId user);

}  // namespace homeline::api
