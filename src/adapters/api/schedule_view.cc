#include "adapters/api/schedule_view.h"

#include <algorithm>
#include <numeric>

#include "core/wfm/schedule_json.h"

namespace homeline::api {

using nlohmann::json;
namespace wfm = core::wfm;

namespace {

json Instant(TimeMs t) { return t == 0 ? json(nullptr) : json(wfm::IsoUtc(t)); }

// The summary's fields that the solve's ToJson does not have: what the store knows of the
// schedule, and totals (the full view's "agents" is the list itself, the summary's a count).
void AddSummaryFields(json& j, const core::StoredSchedule& s) {
  const wfm::ScheduleResult& r = s.result;
  std::size_t shifts = 0;
  for (const auto& a : r.agents) shifts += a.shifts.size();
  j["id"] = s.id;
  j["name"] = s.name;
  j["state"] = core::Name(s.state);
  j["created_at"] = Instant(s.created_at);
  j["created_by"] = s.created_by;
  j["published_at"] = Instant(s.published_at);
  j["published_by"] = s.published_by == 0 ? json(nullptr) : json(s.published_by);
  j["under_total"] = r.coverage.under_total;
  j["over_total"] = r.coverage.over_total;
  j["shifts"] = shifts;
}

}  // namespace

json ScheduleSummaryJson(const core::StoredSchedule& s) {
  json j = wfm::ReportJson(s.result);
  AddSummaryFields(j, s);
  j["agents"] = s.result.agents.size();
  return j;
}

json ScheduleFullJson(const core::StoredSchedule& s) {
  json j = wfm::ToJson(s.result);
  AddSummaryFields(j, s);
  return j;
}

wfm::AgentSchedule ShiftsOf(const std::vector<const core::StoredSchedule*>& schedules,
                            core::UserId user, std::vector<core::ScheduleId>* from) {
  wfm::AgentSchedule out;
  std::vector<std::pair<wfm::Shift, core::ScheduleId>> all;
  for (const core::StoredSchedule* s : schedules) {
    if (s->state != core::ScheduleState::kPublished) continue;
    for (std::size_t i = 0; i < s->users.size(); ++i) {
      if (s->users[i] != user) continue;
      const wfm::AgentSchedule& a = s->result.agents[i];
      out.agent_id = a.agent_id;
      out.name = a.name;
      out.contract = a.contract;
      out.hourly_rate = a.hourly_rate;
      for (const wfm::Shift& sh : a.shifts) all.push_back({sh, s->id});
    }
  }
  std::sort(all.begin(), all.end(),
            [](const auto& x, const auto& y) { return x.first.start < y.first.start; });
  for (auto& [sh, id] : all) {
    out.paid_hours += sh.paid_hours;
    out.cost += sh.cost;
    out.shifts.push_back(std::move(sh));
    if (from) from->push_back(id);
  }
  return out;
}

json MyShiftsJson(const wfm::AgentSchedule& a, const std::vector<core::ScheduleId>& from) {
  json shifts = json::array();
  const json full = wfm::ToJson(a);
  for (std::size_t i = 0; i < a.shifts.size(); ++i) {
    json s = full["shifts"][i];
    s.erase("cost");
    s["schedule"] = from.at(i);
    shifts.push_back(std::move(s));
  }
  return {{"shifts", std::move(shifts)}};
}

}  // namespace homeline::api
