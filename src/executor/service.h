// The gRPC services of isoexec-executor: Nomad's Executor API plus go-plugin's controller,
// stdio and broker services. One executor process runs (at most) one task.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "executor.grpc.pb.h"
#include "executor/task.h"
#include "plugin.grpc.pb.h"

namespace isoexec::executor {

namespace pb = ::hashicorp::nomad::plugins::executor::proto;
namespace dpb = ::hashicorp::nomad::plugins::drivers::proto;

struct ServiceOptions {
  TaskEnv env;
  bool fs_isolation = true;
};

// What the process does when a client (Controller.Shutdown) or a signal asks it to exit.
class ShutdownLatch {
 public:
  void Request(const std::string& why);
  // Blocks until Request() was called; returns its reason.
  std::string WaitForRequest();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  std::string why_;
};

class ExecutorService final
    : public pb::Executor::WithCallbackMethod_ExecStreaming<pb::Executor::Service> {
 public:
  explicit ExecutorService(ServiceOptions options) : o_(std::move(options)) {}

  grpc::Status Launch(grpc::ServerContext*, const pb::LaunchRequest*, pb::LaunchResponse*) override;
  grpc::Status Wait(grpc::ServerContext*, const pb::WaitRequest*, pb::WaitResponse*) override;
  grpc::Status Shutdown(grpc::ServerContext*, const pb::ShutdownRequest*,
                        pb::ShutdownResponse*) override;
  grpc::Status UpdateResources(grpc::ServerContext*, const pb::UpdateResourcesRequest*,
                               pb::UpdateResourcesResponse*) override;
  grpc::Status Version(grpc::ServerContext*, const pb::VersionRequest*,
                       pb::VersionResponse*) override;
  grpc::Status Stats(grpc::ServerContext*, const pb::StatsRequest*,
                     grpc::ServerWriter<pb::StatsResponse>*) override;
  grpc::Status Signal(grpc::ServerContext*, const pb::SignalRequest*, pb::SignalResponse*) override;
  grpc::Status Exec(grpc::ServerContext*, const pb::ExecRequest*, pb::ExecResponse*) override;
  grpc::ServerBidiReactor<dpb::ExecTaskStreamingRequest, dpb::ExecTaskStreamingResponse>*
  ExecStreaming(grpc::CallbackServerContext* context) override;

  // Executor exit: stops the task at once (Nomad's Shutdown("SIGINT", 0)) and removes its
  // state. Safe to call more than once.
  void StopAndCleanup();
  // Forwards a signal the executor process received to the task (SIGHUP, SIGQUIT: Nomad).
  void ForwardSignal(int sig);

 private:
  std::shared_ptr<Task> CurrentTask();

  ServiceOptions o_;
  std::mutex mu_;
  std::shared_ptr<Task> task_;
  bool launching_ = false;
};

class ControllerService final : public ::plugin::GRPCController::Service {
 public:
  explicit ControllerService(ShutdownLatch* latch) : latch_(latch) {}
  grpc::Status Shutdown(grpc::ServerContext*, const ::plugin::Empty*, ::plugin::Empty*) override;

 private:
  ShutdownLatch* latch_;
};

// The executor writes nothing to stdout/stderr after the handshake (its log goes to LogFile),
// so there is nothing to mirror: StreamStdio answers UNIMPLEMENTED, which go-plugin clients
// treat as "no stdio service".
class StdioService final : public ::plugin::GRPCStdio::Service {
 public:
  grpc::Status StreamStdio(grpc::ServerContext*, const ::google::protobuf::Empty*,
                           grpc::ServerWriter<::plugin::StdioData>*) override;
};

// Nomad's executor brokers no extra connections; the stream is accepted and drained so the
// client's broker loop is content, and ends when the client or the server goes away.
class BrokerService final : public ::plugin::GRPCBroker::Service {
 public:
  grpc::Status StartStream(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<::plugin::ConnInfo, ::plugin::ConnInfo>*) override;
};

}  // namespace isoexec::executor
