#pragma once
// Shift schedules as the engine keeps them: a solved week (core/wfm/schedule.h) stored for a
// tenant as a draft, then published, when its agents see their shifts. Publishing a week
// supersedes the schedule published before for the same tenant and week. Stored and published
// by events (ScheduleStored, SchedulePublished), so published schedules survive restarts.
// Plain values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "core/types.h"
#include "core/wfm/schedule.h"

namespace homeline::core {

using ScheduleId = std::uint64_t;

enum class ScheduleState : std::uint8_t { kDraft, kPublished, kSuperseded };
const char* Name(ScheduleState s);  // "draft", "published", "superseded"

// Most schedules a tenant keeps (drafts included): each holds a whole week's shifts and report.
constexpr std::size_t kMaxSchedulesPerTenant = 200;

struct StoredSchedule {
  ScheduleId id = 0;
  TenantId tenant = 0;
  std::string name;
  UserId created_by = 0;
  TimeMs created_at = 0;
  ScheduleState state = ScheduleState::kDraft;
  UserId published_by = 0;
  TimeMs published_at = 0;
  // The member each of result.agents is (same order): agents see their shifts by it.
  std::vector<UserId> users;
  wfm::ScheduleResult result;
};

}  // namespace homeline::core
