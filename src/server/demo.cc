#include "server/demo.h"

#include <map>
#include <string>

#include "adapters/auth/passwords.h"
#include "adapters/auth/sip_digest.h"
#include "core/engine.h"

namespace homeline::server {

using namespace homeline::core;

namespace {

#define TRY_ASSIGN(var, expr)                                \
  auto var##_r = (expr);                                     \
  if (!var##_r) return std::unexpected(var##_r.error());     \
  auto var = *var##_r

#define TRY_STATUS(expr)                       \
  do {                                         \
    if (auto _s = (expr); !_s) return _s;      \
  } while (0)

Result<UserId> MakeUser(Engine& e, const std::string& login, const std::string& name, bool platform_admin) {
  User u;
  u.login = login;
  u.name = name;
  u.platform_admin = platform_admin;
  u.password_hash = auth::HashPassword("demo");
  auto id = e.CreateUser(u);
  if (!id) return id;
  // Every demo user's SIP user name is the login, the password "demo" too (issue 3).
  if (auto st = e.SetSipCredential(*id, auth::SipHa1(login, "demo")); !st) return std::unexpected(st.error());
  return id;
}

Result<QueueId> MakeQueue(Engine& e, TenantId t, const std::string& name, SkillId skill, int min_prof,
                          std::vector<RelaxStep> steps) {
  Queue q;
  q.tenant = t;
  q.name = name;
  q.skills = {SkillRequirement{skill, min_prof}};
  q.steps = std::move(steps);
  q.sl_target = 0.8;
  q.sl_threshold = 20 * kSecond;
  return e.CreateQueue(q);
}

}  // namespace

Status SeedDemo(Engine& e) {
  Tenant acme;
  acme.slug = "acme";
  acme.name = "Acme Retail";
  TRY_ASSIGN(acme_id, e.CreateTenant(acme));
  Tenant globex;
  globex.slug = "globex";
  globex.name = "Globex Corporation";
  TRY_ASSIGN(globex_id, e.CreateTenant(globex));

  std::map<std::string, SkillId> skill;
  for (const char* name : {"support", "sales", "billing", "spanish"}) {
    Skill s;
    s.tenant = acme_id;
    s.name = name;
    TRY_ASSIGN(id, e.CreateSkill(s));
    skill[name] = id;
  }
  Skill gs;
  gs.tenant = globex_id;
  gs.name = "support";
  TRY_ASSIGN(globex_support, e.CreateSkill(gs));

  // Support asks for proficiency 5, then 3 after 30 s, then anyone with the skill after 90 s.
  TRY_ASSIGN(q_support, MakeQueue(e, acme_id, "support", skill["support"], 5,
                                  {RelaxStep{30 * kSecond, 3, 0}, RelaxStep{90 * kSecond, 1, 0}}));
  // The chat widget's default queue.
  acme.id = acme_id;
  acme.settings.chat_queue = q_support;
  if (auto st = e.UpdateTenant(acme); !st) return st;
  // Voice: calls from the local machine (SIPp, baresip in the tests) reach acme's number.
  Trunk trunk;
  trunk.tenant = acme_id;
  trunk.name = "local";
  trunk.sources = {"127.0.0.1", "::1"};
  trunk.caller_id = "+15550100";
  TRY_ASSIGN(acme_trunk, e.CreateTrunk(trunk));
  (void)acme_trunk;
  PhoneNumber number;
  number.tenant = acme_id;
  number.e164 = "+15550100";
  number.name = "Support line";
  number.queue = q_support;
  TRY_ASSIGN(acme_number, e.CreateNumber(number));
  (void)acme_number;
  // Callers waiting in support hear their place in line every 30 s.
  QueueVoice support_voice;
  support_voice.tenant = acme_id;
  support_voice.queue = q_support;
  support_voice.position_interval = 30 * kSecond;
  if (auto st = e.SetQueueVoice(support_voice); !st) return st;
  TRY_ASSIGN(q_sales, MakeQueue(e, acme_id, "sales", skill["sales"], 1, {}));
  // A second number answered by a small IVR menu: 1 support, 2 sales, * again; no key (or a
  // wrong one) twice more, then support.
  IvrMenu menu;
  menu.tenant = acme_id;
  menu.name = "main";
  menu.prompt_text = "Welcome to Acme. For support press 1. For sales press 2. To hear this again press star.";
  menu.options['1'] = IvrAction{IvrActionKind::kQueue, q_support, {}};
  menu.options['2'] = IvrAction{IvrActionKind::kQueue, q_sales, {}};
  menu.options['*'] = IvrAction{IvrActionKind::kRepeat, 0, {}};
  menu.on_failure = IvrAction{IvrActionKind::kQueue, q_support, {}};
  TRY_ASSIGN(acme_menu, e.CreateIvrMenu(menu));
  PhoneNumber main_number;
  main_number.tenant = acme_id;
  main_number.e164 = "+15550101";
  main_number.name = "Main line";
  main_number.ivr = acme_menu;
  TRY_ASSIGN(acme_main, e.CreateNumber(main_number));
  (void)acme_main;
  TRY_ASSIGN(q_billing, MakeQueue(e, acme_id, "billing", skill["billing"], 1, {}));
  (void)q_billing;
  TRY_ASSIGN(g_support, MakeQueue(e, globex_id, "support", globex_support, 1, {}));
  globex.id = globex_id;
  globex.settings.chat_queue = g_support;
  if (auto st = e.UpdateTenant(globex); !st) return st;

  for (const char* code : {"resolved", "follow_up", "escalated", "sale", "no_sale"}) {
    Disposition d;
    d.tenant = acme_id;
    d.code = code;
    d.name = code;
    if (auto r = e.CreateDisposition(d); !r) return std::unexpected(r.error());
  }
  Disposition gd;
  gd.tenant = globex_id;
  gd.code = "resolved";
  gd.name = "Resolved";
  if (auto r = e.CreateDisposition(gd); !r) return std::unexpected(r.error());

  TRY_ASSIGN(ada, MakeUser(e, "ada", "Ada Admin", true));
  TRY_ASSIGN(sam, MakeUser(e, "sam", "Sam Supervisor", false));
  TRY_ASSIGN(alice, MakeUser(e, "alice", "Alice Agent", false));
  TRY_ASSIGN(bob, MakeUser(e, "bob", "Bob Agent", false));
  TRY_ASSIGN(carol, MakeUser(e, "carol", "Carol Contractor", false));

  Membership admin;
  admin.role = Role::kAdmin;
  TRY_STATUS(e.SetMember(acme_id, ada, admin));
  // A platform admin sees only the tenants she belongs to (decisions.md 57): without this,
  // nobody could administer globex in the demo.
  TRY_STATUS(e.SetMember(globex_id, ada, admin));
  Membership sup;
  sup.role = Role::kSupervisor;
  sup.skills = {{skill["support"], 6}};
  TRY_STATUS(e.SetMember(acme_id, sam, sup));
  Membership m_alice;
  m_alice.skills = {{skill["support"], 8}, {skill["spanish"], 6}, {skill["sales"], 4}};
  TRY_STATUS(e.SetMember(acme_id, alice, m_alice));
  Membership m_bob;
  m_bob.skills = {{skill["support"], 5}, {skill["sales"], 8}, {skill["billing"], 6}};
  TRY_STATUS(e.SetMember(acme_id, bob, m_bob));
  Membership m_carol;
  m_carol.skills = {{skill["support"], 3}, {skill["billing"], 8}};
  TRY_STATUS(e.SetMember(acme_id, carol, m_carol));
  Membership g_carol;
  g_carol.skills = {{globex_support, 7}};
  TRY_STATUS(e.SetMember(globex_id, carol, g_carol));
  return {};
}

}  // namespace homeline::server
