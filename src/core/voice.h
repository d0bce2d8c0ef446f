#pragma once
// Voice configuration and records as the engine keeps them (issue 3): per-tenant SIP trunks,
// phone numbers (E.164, unique server-wide, each routed to a queue or an IVR menu), per-queue
// voice settings, IVR menus, call detail records and recordings. Plain values, plus the
// pure helpers the engine and the SIP adapter share: E.164 normalisation and IP prefix
// matching. No I/O; safe from any thread (the values themselves belong to the engine thread).
//
// See docs/decisions.md for why numbers are normalised by our own strict rules (not
// libphonenumber) and how IPv4-mapped IPv6 source addresses match.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "core/types.h"

namespace homeline::core {

using TrunkId = std::uint64_t;
using NumberId = std::uint64_t;
using IvrMenuId = std::uint64_t;

// ---- E.164 -------------------------------------------------------------------------------------

// The canonical form of an international number: '+' and 7..15 digits, the first not 0
// (ITU-T E.164 allows at most 15 digits; no country code starts with 0). Spaces, '-', '.', '(' and
// ')' between digits are dropped. Anything else (letters, a missing '+', a national number,
// "00" prefixes, extensions) is refused: the API takes international numbers only, so nothing
// depends on guessing a region.
std::optional<std::string> NormalizeE164(std::string_view text);
// A dialled number as a SIP peer sends it in a Request-URI user part: the same, except that a
// string of digits without '+' is read as international (many trunks drop the '+').
std::optional<std::string> NormalizeDialled(std::string_view text);

// ---- IP addresses and prefixes -------------------------------------------------------------------

// An IPv4 or IPv6 network. IPv4 is kept as such (4 bytes used); an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 peer) is read as the IPv4
// address, so "::ffff:127.0.0.1" matches an entry "127.0.0.1". See docs/decisions.md.
struct IpPrefix {
  std::array<std::uint8_t, 16> bytes{};
  std::uint8_t bits = 0;  // prefix length: 0..32 (v4) or 0..128 (v6)
  bool v6 = false;
  bool operator==(const IpPrefix&) const = default;
};

// "203.0.113.7" (/32), "203.0.113.0/24", "2001:db8::/32", "::1" (/128). Host bits below the
// prefix must be zero ("10.1.2.3/8" is refused: it is most likely a typo). Zone ids ("%eth0")
// and brackets are refused.
Result<IpPrefix> ParseIpPrefix(std::string_view text);
// One address (no prefix length); brackets around IPv6 ("[::1]") are accepted, as SIP writes them.
std::optional<IpPrefix> ParseIpAddress(std::string_view text);
// Canonical text: "203.0.113.0/24", "2001:db8::/32" (a single address keeps its /32 or /128).
std::string ToString(const IpPrefix& p);
// Whether the address lies in the network (families must agree, after the mapping above).
bool Contains(const IpPrefix& net, const IpPrefix& address);

// ---- trunks --------------------------------------------------------------------------------------

enum class SipTransport : std::uint8_t { kUdp, kTcp };
const char* Name(SipTransport t);  // "udp", "tcp"
std::optional<SipTransport> ParseSipTransport(std::string_view s);

constexpr std::size_t kMaxTrunkSources = 100;

// A tenant's connection to a carrier. Inbound calls are accepted from the listed source
// networks, and/or from a peer that authenticates with the digest credentials; outbound calls
// go to host:port with the outbound credentials and the caller id.
struct Trunk {
  TrunkId id = 0;
  TenantId tenant = 0;
  std::string name;
  // inbound
  std::vector<std::string> sources;  // canonical prefixes (ToString), no duplicates
  std::string inbound_user;          // digest user name; unique across the server; "" none
  std::string inbound_password;      // never shown by the API
  // outbound
  std::string outbound_host;         // "" : no outbound calls through this trunk
  int outbound_port = 5060;
  SipTransport outbound_transport = SipTransport::kUdp;
  std::string outbound_user;
  std::string outbound_password;     // never shown by the API
  std::string caller_id;             // E.164, "" none
  // Outbound trunks are tried lowest priority first (ties: lowest id), the next one when a
  // trunk fails the call for its own reasons (decisions.md 52).
  int outbound_priority = 0;                   // kMinTrunkPriority..kMaxTrunkPriority
  DurationMs dial_timeout = 60 * kSecond;      // a number rings this long before CANCEL
};
inline constexpr int kMaxTrunkPriority = 1000;
inline constexpr DurationMs kMinDialTimeout = 5 * kSecond;
inline constexpr DurationMs kMaxDialTimeout = 600 * kSecond;

// ---- numbers -------------------------------------------------------------------------------------

// Where a number's calls go: exactly one of queue and ivr is set.
struct PhoneNumber {
  NumberId id = 0;
  TenantId tenant = 0;
  std::string e164;      // canonical (NormalizeE164); unique across the server
  std::string name;      // label, free text
  QueueId queue = 0;
  IvrMenuId ivr = 0;
  TrunkId trunk = 0;     // only calls through this trunk; 0: any trunk of the tenant
};

// ---- per-queue voice settings ------------------------------------------------------------------

// What a caller waiting in a queue hears, and whether its calls are recorded. A queue without
// settings uses the defaults below (the media adapter's default greeting and music).
struct QueueVoice {
  QueueId queue = 0;
  TenantId tenant = 0;
  std::string greeting_text;   // spoken with espeak-ng; "" : greeting_file or the default
  std::string greeting_file;   // WAV file name under data_dir/prompts; wins over the text
  std::string moh_file;        // music on hold, WAV file name under data_dir/prompts; "" default
  DurationMs position_interval = 0;  // announce the position every this often; 0 never
  bool record = false;
};

// ---- IVR menus -----------------------------------------------------------------------------------

// What a key (or the menu's failure) leads to.
enum class IvrActionKind : std::uint8_t {
  kNone,     // nothing configured (an option never has it; on_failure kNone hangs up)
  kQueue,    // queue the call in `id`
  kMenu,     // go to menu `id` (its prompt plays, its retries start afresh)
  kNumber,   // transfer to the external `number` (E.164) through the tenant's trunk
  kRepeat,   // play this menu's prompt again (not counted as a failure)
  kHangUp,
};
const char* Name(IvrActionKind k);  // "none", "queue", "menu", "number", "repeat", "hangup"

struct IvrAction {
  IvrActionKind kind = IvrActionKind::kNone;
  std::uint64_t id = 0;  // queue or menu
  std::string number;    // kNumber
  bool operator==(const IvrAction&) const = default;
};

constexpr std::size_t kMaxIvrPromptText = 1000;

// A small menu: a prompt, then one DTMF key (RFC 4733 or SIP INFO) chooses an option. No key
// within `timeout` after the prompt, or a key without an option, is a failure: the prompt plays
// again, up to `max_retries` times, then `on_failure` applies.
struct IvrMenu {
  IvrMenuId id = 0;
  TenantId tenant = 0;
  std::string name;
  std::string prompt_text;  // spoken with espeak-ng
  std::string prompt_file;  // WAV file name under data_dir/prompts; wins over the text
  std::map<char, IvrAction> options;  // keys '0'-'9', '*', '#'
  DurationMs timeout = 5 * kSecond;   // 1..60 s
  int max_retries = 2;                // 0..10
  IvrAction on_failure;               // kNone: hang up
};

// The state of one caller in the menus, kept by the SIP code per call.
struct IvrSession {
  IvrMenuId menu = 0;
  int failures = 0;  // in the current menu
  int steps = 0;     // inputs taken, all menus
};

// One input: a key, or the timeout running out after the prompt.
struct IvrInput {
  bool timeout = false;
  char digit = 0;
  static IvrInput Digit(char d) { return IvrInput{false, d}; }
  static IvrInput Timeout() { return IvrInput{true, 0}; }
};

// What the SIP code does next.
struct IvrOutcome {
  enum class Kind : std::uint8_t {
    kPlay,      // play the menu's prompt (prompt_file, else prompt_text), then wait `timeout`
    kQueue,     // queue the call in `queue`
    kTransfer,  // transfer to `number` (E.164)
    kHangUp,
  };
  Kind kind = Kind::kHangUp;
  IvrMenuId menu = 0;       // kPlay: whose prompt
  std::string prompt_text;  // kPlay
  std::string prompt_file;  // kPlay
  DurationMs timeout = 0;   // kPlay: how long to wait for a key once the prompt has played
  bool retry = false;       // kPlay after a timeout or an invalid key (the SIP code may say so)
  QueueId queue = 0;        // kQueue
  std::string number;       // kTransfer
  std::string reason;       // kHangUp: "no_menu", "failed", "hangup_option", "too_many_steps"
};

// Most inputs one call may give the menus before it is hung up: a bound on a caller (or a
// robot) walking menus in circles.
constexpr int kMaxIvrSteps = 50;

// Menus by id as the state machine sees them; nullptr for an unknown (deleted) one. The SIP
// code passes [&](IvrMenuId id) { return engine.FindIvrMenu(tenant, id); }.
using IvrMenuLookup = std::function<const IvrMenu*(IvrMenuId)>;

// The IVR state machine: pure, no clock (the SIP code runs the timeout and reports it). Start
// enters a menu: play its prompt. Step takes one input in the session's current menu. A menu
// that cannot be found hangs up ("no_menu"). Menus are read at each step, so an edit applies
// to calls already in the menu from their next input.
IvrOutcome IvrStart(const IvrMenuLookup& find, IvrMenuId menu, IvrSession* session);
IvrOutcome IvrStep(const IvrMenuLookup& find, IvrSession* session, IvrInput input);

// ---- call detail records ---------------------------------------------------------------------

// A CDR is kept per call leg: one SIP dialog of Homeline with one party. A call is the
// customer's leg and every leg opened for it (agents rung, transfer targets, supervisors
// listening); its legs share `call`, the id of the leg that started it. See
// docs/decisions.md (CDR model).
using CdrLegId = std::uint64_t;

enum class CdrRole : std::uint8_t { kCustomer, kAgent, kTransfer, kSupervisor };
const char* Name(CdrRole r);  // "customer", "agent", "transfer", "supervisor"
std::optional<CdrRole> ParseCdrRole(std::string_view s);

// How a leg ended. kAnswered: it was answered (then hung up by someone); the others never
// reached a conversation with that party: kNoAnswer (rang out, or cancelled by us),
// kBusy (486/600), kFailed (any other failure), kAbandoned (the customer hung up before an
// agent answered; the customer's leg was answered by Homeline's greeting).
enum class CdrResult : std::uint8_t { kAnswered, kNoAnswer, kBusy, kFailed, kAbandoned };
const char* Name(CdrResult r);  // "answered", "no_answer", "busy", "failed", "abandoned"
std::optional<CdrResult> ParseCdrResult(std::string_view s);

// Who ended the leg: a party (by role), Homeline itself (kSystem: timeouts, transfers,
// shutdown), or unknown.
enum class CdrParty : std::uint8_t { kUnknown, kCustomer, kAgent, kTransfer, kSupervisor, kSystem };
const char* Name(CdrParty p);  // "unknown", "customer", "agent", "transfer", "supervisor", "system"
std::optional<CdrParty> ParseCdrParty(std::string_view s);

// What the SIP code knows when a leg starts.
struct CdrLegStart {
  TenantId tenant = 0;
  CdrLegId call = 0;       // the call's first leg; 0: this leg starts a new call
  InteractionId interaction = 0;  // 0 while unknown (a caller still in the IVR)
  CdrRole role = CdrRole::kCustomer;
  bool outbound = false;   // Homeline placed it (agent legs, outbound customer calls)
  std::string from;        // SIP From user or number, as seen on the wire (at most 256 bytes)
  std::string to;
  UserId agent = 0;        // agent and supervisor legs
  QueueId queue = 0;       // the queue the call is for, when known
  TrunkId trunk = 0;       // the trunk a customer leg came or went through
};

// A leg as the engine holds it while it lasts (and as the CDR routes rebuild it from the log).
struct CdrLeg {
  CdrLegId id = 0;
  CdrLegStart start;
  TimeMs started = 0;
  TimeMs answered = 0;  // 0: never
  TimeMs ended = 0;     // 0: still going
  CdrResult result = CdrResult::kFailed;
  std::string cause;    // the SIP status or reason ("486", "BYE", "CANCEL", "restart")
  CdrParty hung_up_by = CdrParty::kUnknown;
};

// ---- recordings ----------------------------------------------------------------------------------

using RecordingId = std::uint64_t;

// A span during which the recording was paused (silence in the file); end 0 while paused.
struct PausedSpan {
  TimeMs start = 0;
  TimeMs end = 0;
  bool operator==(const PausedSpan&) const = default;
};

// One call's recording: a two-channel WAV (customer left, agent right) the media code writes
// at `path`, relative to the data directory: "recordings/<tenant>/<interaction>.wav".
struct Recording {
  RecordingId id = 0;
  TenantId tenant = 0;
  InteractionId interaction = 0;
  std::string path;
  TimeMs started = 0;
  TimeMs ended = 0;  // 0 while recording
  std::string end_reason;  // "" or "restart" (the process died while recording)
  std::vector<PausedSpan> paused;
  int part = 1;  // 1 + the call's earlier recordings (a transfer bridges it again)
};

// ---- supervisor monitoring -------------------------------------------------------------------

// How a supervisor joins a live call (media::ListenMode): listen (hears both, heard by none),
// whisper (the agent hears the supervisor, the customer does not), barge (both do).
enum class MonitorMode : std::uint8_t { kListen, kWhisper, kBarge };
const char* Name(MonitorMode m);  // "listen", "whisper", "barge"
std::optional<MonitorMode> ParseMonitorMode(std::string_view s);

// A supervisor joined to a live call: from the answer of the supervisor's phone to the end of
// the monitor. At most one per call (docs/decisions.md). The events that make it
// (monitor.started/changed/ended) are the audit: who listened to which call, when, how.
struct Monitor {
  TenantId tenant = 0;
  InteractionId interaction = 0;
  UserId supervisor = 0;
  MonitorMode mode = MonitorMode::kListen;
  TimeMs started = 0;
  TimeMs mode_since = 0;  // the last mode change (started at first)
};

// A consultation with an external number (docs/decisions.md 58): the agent of a connected
// call dials a number through the tenant's trunks while the customer waits on hold. Kept
// after it ends, with its result, until the next one on the call or the interaction leaves
// memory, so that the agent's view says what happened.
struct NumberConsult {
  TenantId tenant = 0;
  InteractionId interaction = 0;
  std::string number;     // E.164
  TrunkId trunk = 0;      // the trunk tried first, then the one that answered
  TimeMs started = 0;
  TimeMs answered = 0;    // 0: not (yet)
  TimeMs ended = 0;       // 0: live
  // "completed", "cancelled", "busy", "no_answer", "rejected", "failed", "hung_up" (by the
  // number), "customer_hung_up", "agent_hung_up", "call_ended", "restart"; "" while live.
  std::string result;
  int status = 0;         // the SIP status of a failure, 0 otherwise
};

// "recordings/<tenant>/<interaction>.wav"; the n-th recording of a call bridged again after a
// transfer (part n > 1): "recordings/<tenant>/<interaction>-<n>.wav".
std::string RecordingPath(TenantId t, InteractionId interaction, int part = 1);

// A prompt or music file name: 1-100 of A-Z a-z 0-9 . _ -, ending ".wav", not starting with
// '.'. Plain names only (no directories), so a name can never lead out of the prompts folder.
bool ValidPromptFile(std::string_view name);

}  // namespace homeline::core
