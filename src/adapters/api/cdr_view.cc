#include "adapters/api/cdr_view.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/api/responses.h"
#include "core/event_codec.h"
#include "core/voice.h"
#include "core/wfm/schedule_json.h"

namespace homeline::api {

using nlohmann::json;

namespace {

Result<std::uint64_t> Unsigned(const http::Request& req, const char* name, std::uint64_t lo,
                               std::uint64_t hi, std::uint64_t dflt) {
  const std::string v = req.QueryParam(name);
  if (v.empty()) return dflt;
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi)
    return Fail(ErrorCode::kBadRequest, fmt::format("{} must be an integer {}..{}", name, lo, hi));
  return n;
}

Result<TimeMs> Instant(const http::Request& req, const char* name, TimeMs dflt) {
  const std::string v = req.QueryParam(name);
  if (v.empty()) return dflt;
  if (v.find('T') != std::string::npos) {
    auto t = core::wfm::ParseIsoUtc(v);
    if (!t) return Fail(ErrorCode::kBadRequest, std::string(name) + " must be ms since the epoch or YYYY-MM-DDTHH:MM:SSZ");
    return *t;
  }
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 0)
    return Fail(ErrorCode::kBadRequest, std::string(name) + " must be ms since the epoch or YYYY-MM-DDTHH:MM:SSZ");
  return n;
}

// "2026-11-29T17:40:00.123Z"
std::string IsoMs(TimeMs t) {
  std::string s = core::wfm::IsoUtc(t - ((t % 1000) + 1000) % 1000);
  s.insert(s.size() - 1, fmt::format(".{:03}", ((t % 1000) + 1000) % 1000));
  return s;
}

struct Call {
  core::CdrLegId id = 0;
  std::vector<core::CdrLeg> legs;  // in start order; legs[0] is the call's first leg
  core::InteractionId interaction = 0;
  core::QueueId queue = 0;
  core::UserId agent = 0;  // the first agent leg that was answered
};

json Maybe(TimeMs t) { return t == 0 ? json(nullptr) : json(t); }

json LegJson(const core::CdrLeg& l, core::InteractionId ix) {
  return {{"leg", l.id},
          {"role", core::Name(l.start.role)},
          {"outbound", l.start.outbound},
          {"from", l.start.from},
          {"to", l.start.to},
          {"agent", l.start.agent},
          {"queue", l.start.queue},
          {"trunk", l.start.trunk},
          {"interaction", ix},
          {"started", l.started},
          {"answered", Maybe(l.answered)},
          {"ended", Maybe(l.ended)},
          {"result", l.ended == 0 ? json(nullptr) : json(core::Name(l.result))},
          {"cause", l.cause},
          {"hung_up_by", l.ended == 0 ? json(nullptr) : json(core::Name(l.hung_up_by))}};
}

json CallJson(const Call& c) {
  const core::CdrLeg& first = c.legs.front();
  json legs = json::array();
  for (const core::CdrLeg& l : c.legs) legs.push_back(LegJson(l, c.interaction));
  return {{"call", c.id},
          {"interaction", c.interaction},
          {"queue", c.queue},
          {"agent", c.agent},
          {"outbound", first.start.outbound},
          {"from", first.start.from},
          {"to", first.start.to},
          {"started", first.started},
          {"answered", Maybe(first.answered)},
          {"ended", Maybe(first.ended)},
          {"result", first.ended == 0 ? json(nullptr) : json(core::Name(first.result))},
          {"cause", first.cause},
          {"hung_up_by", first.ended == 0 ? json(nullptr) : json(core::Name(first.hung_up_by))},
          {"legs", legs}};
}

std::string NameIn(const std::map<std::uint64_t, std::string>& names, std::uint64_t id) {
  if (id == 0) return {};
  auto it = names.find(id);
  return it == names.end() ? std::to_string(id) : it->second;
}

std::string Csv(const std::vector<const Call*>& calls, const CdrJob& job) {
  std::string out =
      "call,interaction,leg,role,direction,from,to,agent,queue,started,answered,ended,result,"
      "cause,hung_up_by\r\n";
  for (const Call* c : calls) {
    for (const core::CdrLeg& l : c->legs) {
      const std::vector<std::string> fields{
          std::to_string(c->id),
          c->interaction == 0 ? "" : std::to_string(c->interaction),
          std::to_string(l.id),
          core::Name(l.start.role),
          l.start.outbound ? "outbound" : "inbound",
          l.start.from,
          l.start.to,
          NameIn(job.agent_logins, l.start.agent),
          NameIn(job.queue_names, l.start.queue),
          IsoMs(l.started),
          l.answered == 0 ? "" : IsoMs(l.answered),
          l.ended == 0 ? "" : IsoMs(l.ended),
          l.ended == 0 ? "" : core::Name(l.result),
          l.cause,
          l.ended == 0 ? "" : core::Name(l.hung_up_by)};
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out += ',';
        out += CsvField(fields[i]);
      }
      out += "\r\n";
    }
  }
  return out;
}

}  // namespace

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

Result<CdrQuery> CdrQueryFrom(const http::Request& req, TimeMs now) {
  CdrQuery q;
  auto to = Instant(req, "to", now + 1);
  if (!to) return std::unexpected(to.error());
  auto from = Instant(req, "from", *to - kDay);
  if (!from) return std::unexpected(from.error());
  if (*to <= *from) return Fail(ErrorCode::kBadRequest, "to must be after from");
  if (*to - *from > kMaxCdrRange)
    return Fail(ErrorCode::kBadRequest, "from..to spans at most 31 days");
  q.from = *from;
  q.to = *to;
  constexpr std::uint64_t kMaxId = 9'999'999'999'999'999'999ull;
  auto queue = Unsigned(req, "queue", 1, kMaxId, 0);
  if (!queue) return std::unexpected(queue.error());
  auto agent = Unsigned(req, "agent", 1, kMaxId, 0);
  if (!agent) return std::unexpected(agent.error());
  auto offset = Unsigned(req, "offset", 0, 1'000'000'000, 0);
  if (!offset) return std::unexpected(offset.error());
  auto limit = Unsigned(req, "limit", 1, 1000, 100);
  if (!limit) return std::unexpected(limit.error());
  q.queue = *queue;
  q.agent = *agent;
  q.offset = *offset;
  q.limit = *limit;
  return q;
}

http::Response RunCdrJob(const CdrJob& job, const EventScan& scan) {
  if (!scan) return ErrorResponse(503, "unavailable", "the event store cannot be read");
  const CdrQuery& q = job.query;
  // Legs by id while the log is read; each leg's call collects it in start order.
  std::unordered_map<core::CdrLegId, Call> calls;
  std::unordered_map<core::CdrLegId, std::pair<core::CdrLegId, std::size_t>> where;  // leg -> call, index
  const std::vector<std::string> types{"cdr.leg_started", "cdr.leg_answered", "cdr.leg_ended"};
  Status st = scan(job.tenant, q.from, types,
                   [&](TimeMs ts, const std::string& type, const std::string& payload) -> Status {
    auto body = core::DecodePayload(type, payload);
    if (!body) return {};  // a payload this version cannot read is skipped, not fatal
    if (auto* s = std::get_if<core::CdrLegStarted>(&*body)) {
      const core::CdrLegId call = s->start->call == 0 ? s->leg : s->start->call;
      auto it = calls.find(call);
      if (it == calls.end()) {
        // A call counts from its first leg; legs of calls that began before `from` (not
        // read) or at/after `to` are left out.
        if (call != s->leg || ts >= q.to) return {};
        it = calls.emplace(call, Call{.id = call}).first;
      }
      core::CdrLeg leg;
      leg.id = s->leg;
      leg.start = *s->start;
      leg.started = ts;
      if (leg.start.interaction != 0 && it->second.interaction == 0)
        it->second.interaction = leg.start.interaction;
      where[s->leg] = {call, it->second.legs.size()};
      it->second.legs.push_back(std::move(leg));
    } else if (auto* a = std::get_if<core::CdrLegAnswered>(&*body)) {
      auto w = where.find(a->leg);
      if (w != where.end()) calls[w->second.first].legs[w->second.second].answered = ts;
    } else if (auto* e = std::get_if<core::CdrLegEnded>(&*body)) {
      auto w = where.find(e->leg);
      if (w == where.end()) return {};
      Call& c = calls[w->second.first];
      core::CdrLeg& l = c.legs[w->second.second];
      l.ended = ts;
      l.result = e->result;
      l.cause = e->cause;
      l.hung_up_by = e->hung_up_by;
      if (e->interaction != 0 && c.interaction == 0) c.interaction = e->interaction;
    }
    return {};
  });
  if (!st) return ErrorResponse(503, "unavailable", "the event store cannot be read: " + st.error().message);

  std::vector<const Call*> selected;
  for (auto& [id, c] : calls) {
    for (const core::CdrLeg& l : c.legs) {
      if (c.queue == 0 && l.start.queue != 0) c.queue = l.start.queue;
      if (c.agent == 0 && l.start.role == core::CdrRole::kAgent && l.answered != 0)
        c.agent = l.start.agent;
    }
    bool keep = true;
    if (q.queue != 0)
      keep = std::any_of(c.legs.begin(), c.legs.end(),
                         [&](const core::CdrLeg& l) { return l.start.queue == q.queue; });
    if (keep && q.agent != 0)
      keep = std::any_of(c.legs.begin(), c.legs.end(),
                         [&](const core::CdrLeg& l) { return l.start.agent == q.agent; });
    if (keep) selected.push_back(&c);
  }
  std::sort(selected.begin(), selected.end(), [](const Call* a, const Call* b) {
    return a->legs.front().started != b->legs.front().started
               ? a->legs.front().started < b->legs.front().started
               : a->id < b->id;
  });

  http::Response r;
  if (job.csv) {
    r.content_type = "text/csv; charset=utf-8";
    r.headers.emplace_back("Content-Disposition",
                           fmt::format("attachment; filename=\"cdrs-{}-{}.csv\"", q.from, q.to));
    r.body = Csv(selected, job);
    return r;
  }
  json items = json::array();
  for (std::size_t i = q.offset; i < selected.size() && i < q.offset + q.limit; ++i)
    items.push_back(CallJson(*selected[i]));
  const json out = {{"from", q.from},   {"to", q.to},       {"total", selected.size()},
                    {"offset", q.offset}, {"limit", q.limit}, {"calls", items}};
  r.body = out.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Result<RecordingQuery> RecordingQueryFrom(const http::Request& req, TimeMs now) {
  RecordingQuery q;
  auto to = Instant(req, "to", now + 1);
  if (!to) return std::unexpected(to.error());
  auto from = Instant(req, "from", *to - kDay);
  if (!from) return std::unexpected(from.error());
  if (*to <= *from) return Fail(ErrorCode::kBadRequest, "to must be after from");
  if (*to - *from > kMaxCdrRange) return Fail(ErrorCode::kBadRequest, "from..to spans at most 31 days");
  constexpr std::uint64_t kMaxId = 9'999'999'999'999'999'999ull;
  auto interaction = Unsigned(req, "interaction", 1, kMaxId, 0);
  if (!interaction) return std::unexpected(interaction.error());
  q.from = *from;
  q.to = *to;
  q.interaction = *interaction;
  // One call's recordings without a range: whenever they were made (a CDR row links to them).
  if (q.interaction != 0 && req.QueryParam("from").empty() && req.QueryParam("to").empty()) {
    q.from = 0;
    q.to = std::numeric_limits<TimeMs>::max();
  }
  return q;
}

Result<std::vector<core::Recording>> ScanRecordings(core::TenantId tenant, const RecordingQuery& q,
                                                    const EventScan& scan,
                                                    const RecordingEventScan& by_id) {
  const bool one = q.id != 0 && by_id;
  if (!scan && !one) return Fail(ErrorCode::kUnavailable, "the event store cannot be read");
  std::map<core::RecordingId, core::Recording> found;
  const std::vector<std::string> types{"recording.started", "recording.paused", "recording.ended"};
  const TimeMs from = q.id != 0 ? 0 : q.from;
  auto each = [&](TimeMs ts, const std::string& type, const std::string& payload) -> Status {
    auto body = core::DecodePayload(type, payload);
    if (!body) return {};  // a payload this version cannot read is skipped, not fatal
    if (const auto* s = std::get_if<core::RecordingStarted>(&*body)) {
      if (q.id != 0 ? s->id != q.id : (ts >= q.to || (q.interaction != 0 && s->interaction != q.interaction)))
        return {};
      core::Recording& r = found[s->id];
      r.id = s->id;
      r.tenant = s->tenant;
      r.interaction = s->interaction;
      r.path = s->path;
      r.started = ts;
    } else if (const auto* p = std::get_if<core::RecordingPaused>(&*body)) {
      auto it = found.find(p->id);
      if (it == found.end()) return {};
      std::vector<core::PausedSpan>& spans = it->second.paused;
      if (p->paused) {
        spans.push_back(core::PausedSpan{ts, 0});
      } else if (!spans.empty() && spans.back().end == 0) {
        spans.back().end = ts;
      }
    } else if (const auto* e = std::get_if<core::RecordingEnded>(&*body)) {
      auto it = found.find(e->id);
      if (it == found.end()) return {};
      it->second.ended = ts;
      it->second.end_reason = e->reason;
      if (!it->second.paused.empty() && it->second.paused.back().end == 0) it->second.paused.back().end = ts;
    }
    return {};
  };
  Status st = one ? by_id(tenant, q.id, each) : scan(tenant, from, types, each);
  if (!st) return std::unexpected(st.error());
  std::vector<core::Recording> out;
  out.reserve(found.size());
  for (auto& [id, r] : found) out.push_back(std::move(r));
  return out;
}

}  // namespace homeline::api
