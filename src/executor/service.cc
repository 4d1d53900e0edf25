#include "executor/service.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/parse.h"
#include "executor/config.h"
#include "executor/convert.h"
#include "executor/exec.h"
#include "executor/status.h"
#include "stats/sample.h"

namespace isoexec::executor {

using nlohmann::json;

namespace {

grpc::Status NoTask() {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no task was launched");
}

std::string RandomSuffix() {
  unsigned char b[4] = {};
  if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) {
    auto t = static_cast<uint64_t>(::getpid()) ^ static_cast<uint64_t>(::time(nullptr));
    for (auto& c : b) {
      c = static_cast<unsigned char>(t);
      t >>= 8;
    }
  }
  return fmt::format("{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3]);
}

void LogWarnings(const std::string& what, const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) log::Warn(fmt::format("{}: {}", what, w));
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void ShutdownLatch::Request(const std::string& why) {
  std::lock_guard<std::mutex> l(mu_);
  if (!requested_) why_ = why;
  requested_ = true;
  cv_.notify_all();
}

std::string ShutdownLatch::WaitForRequest() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return requested_; });
  return why_;
}

// ---------------------------------------------------------------------------------------------

std::shared_ptr<Task> ExecutorService::CurrentTask() {
  std::lock_guard<std::mutex> l(mu_);
  return task_;
}

grpc::Status ExecutorService::Launch(grpc::ServerContext*, const pb::LaunchRequest* req,
                                     pb::LaunchResponse* resp) {
  if (!o_.fs_isolation)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "FSIsolation=false (the universal executor of raw_exec) is not supported "
                        "by isoexec-executor; "
                        "every task runs isolated");
  {
    std::lock_guard<std::mutex> l(mu_);
    if (task_ || launching_)
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "a task was already launched by this executor");
    launching_ = true;
  }
  const auto done = [&](std::shared_ptr<Task> t) {
    std::lock_guard<std::mutex> l(mu_);
    launching_ = false;
    if (t) task_ = std::move(t);
  };
  std::vector<std::string> warnings;
  auto spec = SpecFromLaunch(*req, TaskIdFor(req->task_dir(), RandomSuffix()), &warnings);
  if (!spec) {
    done(nullptr);
    log::Error(fmt::format("launch refused: {}", spec.error().str()));
    return ToStatus(spec.error());
  }
  LogWarnings("launch", warnings);
  log::Info(fmt::format("launching task {}: {}", spec->id, fmt::join(spec->process.argv, " ")));
  auto task = Task::Launch(o_.env, std::move(*spec));
  if (!task) {
    done(nullptr);
    log::Error(fmt::format("launch failed (exit status {}): {}", task.error().exit_code,
                           task.error().error.str()));
    return ToStatus(task.error().error);
  }
  auto* ps = resp->mutable_process();
  ps->set_pid((*task)->pid());
  ps->set_exit_code(-1);
  ToTimestamp((*task)->started_at(), ps->mutable_time());
  log::Info(fmt::format("task {} runs as pid {}", (*task)->id(), (*task)->pid()));
  done(std::move(*task));
  return grpc::Status::OK;
}

grpc::Status ExecutorService::Wait(grpc::ServerContext* ctx, const pb::WaitRequest*,
                                   pb::WaitResponse* resp) {
  auto task = CurrentTask();
  if (!task) return NoTask();
  auto st = task->Wait([ctx] { return ctx->IsCancelled(); });
  if (!st) return grpc::Status(grpc::StatusCode::CANCELLED, "wait cancelled");
  ExitToProcessState(*st, resp->mutable_process());
  return grpc::Status::OK;
}

grpc::Status ExecutorService::Shutdown(grpc::ServerContext*, const pb::ShutdownRequest* req,
                                       pb::ShutdownResponse*) {
  int sig = SIGINT;  // Nomad: an empty signal means SIGINT
  if (!req->signal().empty()) {
    auto s = ParseSignal("signal", req->signal());
    if (!s)
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          fmt::format("error unknown signal given for shutdown: {}", req->signal()));
    sig = *s;
  }
  auto task = CurrentTask();
  if (!task) return grpc::Status::OK;  // nothing launched: nothing to stop
  auto grace = std::chrono::nanoseconds(std::max<int64_t>(0, req->grace_period()));
  log::Info(fmt::format("shutdown of task {}: {} then kill after {} ns", task->id(),
                        SignalName(sig), grace.count()));
  if (auto s = task->Stop(sig, grace); !s) return ToStatus(s.error());
  if (auto s = task->Cleanup(); !s) {
    log::Warn(fmt::format("task {}: cleanup: {}", task->id(), s.error().str()));
    return ToStatus(s.error());
  }
  return grpc::Status::OK;
}

grpc::Status ExecutorService::UpdateResources(grpc::ServerContext*,
                                              const pb::UpdateResourcesRequest* req,
                                              pb::UpdateResourcesResponse*) {
  auto task = CurrentTask();
  if (!task) return NoTask();
  std::vector<std::string> warnings;
  auto r = ResourcesFrom(req->resources(), &warnings);
  if (!r) return ToStatus(r.error());
  if (r->empty()) return grpc::Status::OK;
  if (task->Exited()) return grpc::Status::OK;  // like Nomad: nothing to update any more
  if (auto s = task->Update(UpdateJson(*r), &warnings); !s) {
    if (task->Exited()) return grpc::Status::OK;
    return ToStatus(s.error());
  }
  LogWarnings(fmt::format("update of task {}", task->id()), warnings);
  return grpc::Status::OK;
}

grpc::Status ExecutorService::Version(grpc::ServerContext*, const pb::VersionRequest*,
                                      pb::VersionResponse* resp) {
  resp->set_version(kExecutorVersion);
  return grpc::Status::OK;
}

grpc::Status ExecutorService::Stats(grpc::ServerContext* ctx, const pb::StatsRequest* req,
                                    grpc::ServerWriter<pb::StatsResponse>* writer) {
  auto task = CurrentTask();
  if (!task) return NoTask();
  if (task->Exited()) return grpc::Status::OK;  // the stream of an ended task is empty
  auto client = task->Connect();
  if (!client) return task->Exited() ? grpc::Status::OK : ToStatus(client.error());
  const int64_t interval = req->interval() > 0 ? req->interval() : 1'000'000'000;
  if (auto s = client->Send(
          json{{"v", 1}, {"op", "stats"}, {"stream", true}, {"interval_ns", interval}}.dump());
      !s)
    return ToStatus(s.error());
  // Short receive timeouts, so a cancelled call is noticed while no sample is due.
  struct timeval tv = {0, 200'000};
  ::setsockopt(client->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "stats cancelled");
    auto m = client->Receive();
    if (!m) {
      int e = m.error().sys_errno();
      if (e == EAGAIN || e == EWOULDBLOCK) continue;
      if (m.error().code() == Code::kUnavailable) return grpc::Status::OK;  // the task ended
      return ToStatus(m.error());
    }
    json j;
    try {
      j = json::parse(m->line);
    } catch (const std::exception& e) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          fmt::format("stats: bad line from the supervisor: {}", e.what()));
    }
    if (!j.value("ok", false)) {
      // The task may have ended as we asked ("not running"): then the stream simply ends.
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      if (task->Wait(
              [&] { return ctx->IsCancelled() || std::chrono::steady_clock::now() > until; }))
        return grpc::Status::OK;
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          j.value("error", std::string("stats failed")));
    }
    if (j.value("end", false)) return grpc::Status::OK;
    if (!j.contains("sample")) continue;
    auto sample = stats::ParseSampleJson(j["sample"].dump());
    if (!sample) return ToStatus(sample.error());
    pb::StatsResponse out;
    SampleToTaskStats(*sample, out.mutable_stats());
    if (!writer->Write(out)) return grpc::Status::OK;  // the client went away
  }
}

grpc::Status ExecutorService::Signal(grpc::ServerContext*, const pb::SignalRequest* req,
                                     pb::SignalResponse*) {
  auto task = CurrentTask();
  if (!task) return NoTask();
  if (req->signal() < 1 || req->signal() > SIGRTMAX)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        fmt::format("unknown signal {}", req->signal()));
  if (auto s = task->Signal(req->signal()); !s) return ToStatus(s.error());
  return grpc::Status::OK;
}

grpc::Status ExecutorService::Exec(grpc::ServerContext* ctx, const pb::ExecRequest* req,
                                   pb::ExecResponse* resp) {
  auto task = CurrentTask();
  if (!task) return NoTask();
  std::vector<std::string> argv = {req->cmd()};
  for (const auto& a : req->args()) argv.push_back(a);
  std::optional<std::chrono::system_clock::time_point> deadline;
  if (req->has_deadline() && (req->deadline().seconds() != 0 || req->deadline().nanos() != 0))
    deadline = FromTimestamp(req->deadline());
  auto r = RunExec(task, argv, deadline, [ctx] { return ctx->IsCancelled(); });
  if (!r) return ToStatus(r.error());
  resp->set_output(r->output);
  resp->set_exit_code(r->exit_code);
  return grpc::Status::OK;
}

grpc::ServerBidiReactor<dpb::ExecTaskStreamingRequest, dpb::ExecTaskStreamingResponse>*
ExecutorService::ExecStreaming(grpc::CallbackServerContext*) {
  return NewExecStreamReactor(CurrentTask());
}

void ExecutorService::StopAndCleanup() {
  auto task = CurrentTask();
  if (!task) return;
  if (!task->Exited()) {
    log::Info(fmt::format("executor exiting: killing task {}", task->id()));
    if (auto s = task->Stop(SIGINT, std::chrono::nanoseconds(0)); !s)
      log::Error(fmt::format("task {}: stop: {}", task->id(), s.error().str()));
  }
  log::Debug(fmt::format("task {} ended", task->id()));
  if (task->Exited())
    if (auto s = task->Cleanup(); !s)
      log::Warn(fmt::format("task {}: cleanup: {}", task->id(), s.error().str()));
}

void ExecutorService::ForwardSignal(int sig) {
  auto task = CurrentTask();
  if (!task || task->Exited()) return;
  if (auto s = task->Signal(sig); !s)
    log::Warn(fmt::format("forwarding {}: {}", SignalName(sig), s.error().str()));
}

// ---------------------------------------------------------------------------------------------

grpc::Status ControllerService::Shutdown(grpc::ServerContext*, const ::plugin::Empty*,
                                         ::plugin::Empty*) {
  latch_->Request("GRPCController.Shutdown");
  return grpc::Status::OK;
}

grpc::Status StdioService::StreamStdio(grpc::ServerContext*, const ::google::protobuf::Empty*,
                                       grpc::ServerWriter<::plugin::StdioData>*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "isoexec-executor logs to its LogFile; no stdio to stream");
}

grpc::Status BrokerService::StartStream(
    grpc::ServerContext*,
    grpc::ServerReaderWriter<::plugin::ConnInfo, ::plugin::ConnInfo>* stream) {
  ::plugin::ConnInfo info;
  while (stream->Read(&info)) {
  }
  return grpc::Status::OK;
}

}  // namespace isoexec::executor
