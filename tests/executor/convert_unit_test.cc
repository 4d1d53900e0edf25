// Pure logic of isoexec-executor: configuration, handshake text, LaunchRequest -> TaskSpec,
// Resources -> update, Sample -> TaskStats, ExitState -> ProcessState.
#include <csignal>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "executor/config.h"
#include "executor/convert.h"

namespace isoexec::executor {
namespace {

TEST(ExecutorConfig, ParsesNomadsJsonAndIgnoresUnknownKeys) {
  auto c = ParseConfig(
      R"({"LogFile":"/a/executor.out","LogLevel":"debug","FSIsolation":true,"Compute":{"tc":1,"nc":2}})");
  ASSERT_TRUE(c) << c.error().str();
  EXPECT_EQ(c->log_file, "/a/executor.out");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_TRUE(c->fs_isolation);
  EXPECT_EQ(c->state_root, "/run/isoexec");
  EXPECT_EQ(c->cgroup_parent, "isoexec");
  auto f = ParseConfig(R"({"FSIsolation":false,"StateRoot":"/tmp/s","CgroupParent":"nomad/x"})");
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->fs_isolation);
  EXPECT_EQ(f->state_root, "/tmp/s");
  EXPECT_EQ(f->cgroup_parent, "nomad/x");
  EXPECT_FALSE(ParseConfig("{"));
  EXPECT_FALSE(ParseConfig("[]"));
  auto bad = ParseConfig(R"({"FSIsolation":"yes"})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().str().find("FSIsolation"), std::string::npos);
  EXPECT_FALSE(ParseConfig(R"({"StateRoot":"relative"})"));
  EXPECT_FALSE(ParseConfig(R"({"CgroupParent":"../up"})"));
}

TEST(ExecutorConfig, ArgumentForms) {
  EXPECT_EQ(*ConfigArgument({"nomad", "executor", "{}"}), "{}");
  EXPECT_EQ(*ConfigArgument({"isoexec-executor", "{}"}), "{}");
  auto missing = ConfigArgument({"nomad", "executor"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "json configuration not provided");
  EXPECT_FALSE(ConfigArgument({"nomad", "executor", "{}", "extra"}));
}

TEST(ExecutorConfig, CookieAndHandshake) {
  EXPECT_TRUE(CookieValid("e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255"));
  EXPECT_FALSE(CookieValid(nullptr));
  EXPECT_FALSE(CookieValid(""));
  EXPECT_FALSE(CookieValid("e4327c2e"));
  EXPECT_EQ(HandshakeLine("/tmp/p/plugin.sock"), "1|2|unix|/tmp/p/plugin.sock|grpc|\n");
  EXPECT_EQ(LogLevelIndex("TRACE"), 3);
  EXPECT_EQ(LogLevelIndex("Warn"), 1);
  EXPECT_EQ(LogLevelIndex("whatever"), 2);
}

pb::LaunchRequest Basic() {
  pb::LaunchRequest r;
  r.set_cmd("/bin/sleep");
  r.add_args("10");
  r.set_task_dir("/var/nomad/alloc/1234/web");
  r.set_resource_limits(true);
  r.mutable_resources()->mutable_allocated_resources()->mutable_memory()->set_memory_mb(256);
  r.mutable_resources()->mutable_allocated_resources()->mutable_cpu()->set_cpu_shares(500);
  return r;
}

TEST(ExecutorConvert, LaunchRequestToSpec) {
  auto r = Basic();
  r.add_env("A=1");
  r.set_user("nobody");
  r.set_stdout_path("/alloc/logs/.web.stdout.fifo");
  r.set_work_dir("/local");
  r.set_no_pivot_root(true);
  r.set_default_pid_mode("host");
  r.set_oom_score_adj(-10);
  auto* m = r.add_mounts();
  m->set_host_path("/srv");
  m->set_task_path("/data");
  m->set_readonly(true);
  m->set_propagation_mode("host-to-task");
  auto* d = r.add_devices();
  d->set_host_path("/dev/fuse");
  r.mutable_network_isolation()->set_path("/var/run/netns/x");
  r.add_capabilities("CAP_NET_BIND_SERVICE");
  r.add_capabilities("CAP_CHOWN");
  std::vector<std::string> warnings;
  auto s = SpecFromLaunch(r, "web-1", &warnings);
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->id, "web-1");
  EXPECT_EQ(s->process.argv, (std::vector<std::string>{"/bin/sleep", "10"}));
  EXPECT_EQ(s->process.env, (std::vector<std::string>{"A=1"}));
  EXPECT_EQ(s->process.user, "nobody");
  EXPECT_EQ(s->process.workdir, "/local");
  EXPECT_EQ(s->process.oom_score_adj, -10);
  EXPECT_EQ(s->root.rootfs, "/var/nomad/alloc/1234/web");
  EXPECT_TRUE(s->root.no_pivot_root);
  ASSERT_EQ(s->mounts.size(), 1u);
  EXPECT_EQ(s->mounts[0].host, "/srv");
  EXPECT_EQ(s->mounts[0].task, "/data");
  EXPECT_TRUE(s->mounts[0].readonly);
  EXPECT_EQ(s->mounts[0].propagation, spec::Propagation::kSlave);
  ASSERT_EQ(s->devices.size(), 1u);
  EXPECT_EQ(s->devices[0].task, "/dev/fuse");
  EXPECT_EQ(s->devices[0].perms, "rwm");
  EXPECT_EQ(s->namespaces.pid, spec::NsMode::kHost);
  EXPECT_EQ(s->namespaces.ipc, spec::NsMode::kPrivate);  // "" = private
  EXPECT_EQ(s->namespaces.net, "/var/run/netns/x");
  EXPECT_EQ(s->security.cap_drop, (std::vector<std::string>{"all"}));
  EXPECT_EQ(s->security.cap_add, (std::vector<std::string>{"CAP_NET_BIND_SERVICE", "CAP_CHOWN"}));
  EXPECT_EQ(*s->resources.memory, 256ull << 20);
  EXPECT_FALSE(s->resources.memory_max);
  EXPECT_EQ(*s->resources.cpu_shares, 500u);
  EXPECT_EQ(s->output.stdout_path, "/alloc/logs/.web.stdout.fifo");
  EXPECT_EQ(s->output.stderr_path, "/dev/null");
  EXPECT_EQ(s->lifecycle.kill_signal, SIGINT);
}

TEST(ExecutorConvert, RefusesWhatItCannotHonour) {
  const auto refused = [](const std::function<void(pb::LaunchRequest*)>& set,
                          const std::string& field) {
    auto r = Basic();
    set(&r);
    auto s = SpecFromLaunch(r, "id", nullptr);
    ASSERT_FALSE(s) << field;
    EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
    EXPECT_NE(s.error().str().find(field), std::string::npos) << s.error().str();
  };
  refused([](auto* r) { r->set_basic_process_cgroup(true); }, "basic_process_cgroup");
  refused([](auto* r) { r->set_cgroup_v2_override("a.slice/b.scope"); }, "cgroup_v2_override");
  refused([](auto* r) { (*r->mutable_cgroup_v1_override())["pids"] = "x"; }, "cgroup_v1_override");
  refused([](auto* r) { r->set_default_ipc_mode("shareable"); }, "default_ipc_mode");
  refused([](auto* r) { r->set_work_dir("rel"); }, "work_dir");
  refused([](auto* r) { r->clear_task_dir(); }, "task_dir");
  refused([](auto* r) { r->clear_cmd(); }, "cmd");
  refused([](auto* r) { r->add_env("NOEQUALS"); }, "env");
  refused([](auto* r) { r->set_oom_score_adj(2000); }, "oom_score_adj");
  refused(
      [](auto* r) {
        auto* m = r->add_mounts();
        m->set_host_path("/a");
        m->set_task_path("/b");
        m->set_propagation_mode("sideways");
      },
      "propagation_mode");
  refused(
      [](auto* r) {
        auto* d = r->add_devices();
        d->set_host_path("/dev/null");
        d->set_cgroup_permissions("rwx");
      },
      "cgroup_permissions");
  refused(
      [](auto* r) { r->mutable_network_isolation()->set_mode(dpb::NetworkIsolationSpec::GROUP); },
      "network_isolation");
}

TEST(ExecutorConvert, MemoryRules) {
  // Nomad's memoryLimits: memory only -> hard; + memory_max -> hard=max, soft=memory; -1 -> no
  // hard.
  dpb::Resources r;
  r.mutable_allocated_resources()->mutable_memory()->set_memory_mb(100);
  auto a = ResourcesFrom(r, nullptr);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a->memory, 100ull << 20);
  EXPECT_FALSE(a->memory_max);
  r.mutable_allocated_resources()->mutable_memory()->set_memory_max_mb(200);
  a = ResourcesFrom(r, nullptr);
  EXPECT_EQ(*a->memory_max, 200ull << 20);
  EXPECT_EQ(UpdateJson(*a),
            nlohmann::json({{"memory", 100ull << 20}, {"memory_max", 200ull << 20}}));
  r.mutable_allocated_resources()->mutable_memory()->set_memory_max_mb(-1);
  a = ResourcesFrom(r, nullptr);
  EXPECT_TRUE(a->memory_max_unlimited);
  EXPECT_EQ(UpdateJson(*a)["memory_max"], "unlimited");
  r.mutable_allocated_resources()->mutable_memory()->set_memory_max_mb(
      50);  // below memory: ignored
  a = ResourcesFrom(r, nullptr);
  EXPECT_FALSE(a->memory_max);
  // linux_resources as the fallback; shares clamped; cpuset.
  dpb::Resources l;
  l.mutable_linux_resources()->set_memory_limit_bytes(64 << 20);
  l.mutable_linux_resources()->set_cpu_shares(1);
  l.mutable_linux_resources()->set_cpuset_cpus("0-1");
  std::vector<std::string> w;
  auto b = ResourcesFrom(l, &w);
  ASSERT_TRUE(b);
  EXPECT_EQ(*b->memory, 64ull << 20);
  EXPECT_EQ(*b->cpu_shares, 2u);
  EXPECT_EQ(b->cpuset, "0-1");
  EXPECT_EQ(w.size(), 1u);
  EXPECT_TRUE(ResourcesFrom(dpb::Resources(), nullptr)->empty());
}

TEST(ExecutorConvert, TaskIds) {
  EXPECT_EQ(TaskIdFor("/var/nomad/alloc/1234/web", "ab12"), "web-ab12");
  EXPECT_EQ(TaskIdFor("/x/my task!/", "1"), "my_task_-1");
  EXPECT_EQ(TaskIdFor("/", "1"), "task-1");
  EXPECT_EQ(TaskIdFor("/a/.hidden", "1"), "hidden-1");
  EXPECT_EQ(TaskIdFor("/a/" + std::string(100, 'x'), "1").size(), 42u);
}

TEST(ExecutorConvert, SampleToNomadStats) {
  stats::Sample s;
  s.id = "web-1";
  s.timestamp_ns = 1'700'000'000'123'456'789;
  s.memory.rss_bytes = 1000;
  s.memory.cache_bytes = 2000;
  s.memory.usage_bytes = 3000;
  s.memory.max_usage_bytes = 4000;
  s.memory.measured = {"rss",   "cache",     "swap",         "mapped_file",
                       "usage", "max_usage", "kernel_usage", "kernel_max_usage",
                       "limit"};
  s.cpu.percent = 12.5;
  s.cpu.user_percent = 10;
  s.cpu.system_percent = 2.5;
  s.cpu.throttled_periods = 3;
  s.cpu.throttled_ns = 4;
  s.cpu.total_ticks = 5;
  s.cpu.measured = {"percent",           "user_percent", "system_percent", "user_ns",
                    "throttled_periods", "throttled_ns", "total_ticks"};
  s.pids[42] = {100, 0, 1.5, 1, 0.5};
  dpb::TaskStats out;
  SampleToTaskStats(s, &out);
  EXPECT_EQ(out.id(), "web-1");
  EXPECT_EQ(out.timestamp().seconds(), 1'700'000'000);
  EXPECT_EQ(out.timestamp().nanos(), 123'456'789);
  const auto& m = out.agg_resource_usage().memory();
  EXPECT_EQ(m.rss(), 1000u);
  EXPECT_EQ(m.cache(), 2000u);
  EXPECT_EQ(m.usage(), 3000u);
  EXPECT_EQ(m.max_usage(), 4000u);
  std::vector<int> mf(m.measured_fields().begin(), m.measured_fields().end());
  EXPECT_EQ(
      mf, (std::vector<int>{dpb::MemoryUsage::RSS, dpb::MemoryUsage::CACHE, dpb::MemoryUsage::SWAP,
                            dpb::MemoryUsage::USAGE, dpb::MemoryUsage::MAX_USAGE,
                            dpb::MemoryUsage::KERNEL_USAGE, dpb::MemoryUsage::KERNEL_MAX_USAGE}));
  const auto& c = out.agg_resource_usage().cpu();
  EXPECT_DOUBLE_EQ(c.percent(), 12.5);
  EXPECT_DOUBLE_EQ(c.user_mode(), 10);
  EXPECT_DOUBLE_EQ(c.system_mode(), 2.5);
  EXPECT_EQ(c.throttled_periods(), 3u);
  EXPECT_EQ(c.throttled_time(), 4u);
  std::vector<int> cf(c.measured_fields().begin(), c.measured_fields().end());
  EXPECT_EQ(cf, (std::vector<int>{dpb::CPUUsage::PERCENT, dpb::CPUUsage::USER_MODE,
                                  dpb::CPUUsage::SYSTEM_MODE, dpb::CPUUsage::THROTTLED_PERIODS,
                                  dpb::CPUUsage::THROTTLED_TIME, dpb::CPUUsage::TOTAL_TICKS}));
  ASSERT_EQ(out.resource_usage_by_pid().count("42"), 1u);
  const auto& p = out.resource_usage_by_pid().at("42");
  EXPECT_EQ(p.memory().rss(), 100u);
  EXPECT_DOUBLE_EQ(p.cpu().percent(), 1.5);
  EXPECT_EQ(p.memory().measured_fields_size(), 2);
  EXPECT_EQ(p.cpu().measured_fields_size(), 3);
}

TEST(ExecutorConvert, ExitToProcessState) {
  runtime::ExitState e;
  e.pid = 77;
  e.exit_code = 137;
  e.signal = 9;
  e.oom_killed = true;
  e.finished_at = std::chrono::system_clock::time_point(std::chrono::seconds(1'000));
  pb::ProcessState ps;
  ExitToProcessState(e, &ps);
  EXPECT_EQ(ps.pid(), 77);
  EXPECT_EQ(ps.exit_code(), 137);
  EXPECT_EQ(ps.signal(), 9);
  EXPECT_TRUE(ps.oom_killed());
  EXPECT_EQ(ps.time().seconds(), 1'000);
}

}  // namespace
}  // namespace isoexec::executor
