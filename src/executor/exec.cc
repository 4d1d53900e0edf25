#include "executor/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "base/log.h"
#include "base/unique_fd.h"
#include "executor/status.h"
#include "executor/task.h"
#include "runtime/exec_into.h"
#include "runtime/pty.h"
#include "sys/syscalls.h"

namespace isoexec::executor {

namespace dpb = ::hashicorp::nomad::plugins::drivers::proto;

namespace {

constexpr int kPollSliceMs = 200;  // how often blocking loops look at cancellation
constexpr auto kDrainAfterExit = std::chrono::milliseconds(100);  // output still in flight
constexpr size_t kMaxQueuedFrames = 64;  // back-pressure towards a slow client

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// What a finished exec setup became: the process, or why it did not start.
Result<runtime::ExecProcess> Start(const std::shared_ptr<Task>& task,
                                   const runtime::ExecRequest& req) {
  if (!task) return Fail(Error::Make(Code::kFailedPrecondition, "no task was launched"));
  if (task->Exited())
    return Fail(
        Error::Make(Code::kFailedPrecondition, fmt::format("task {} is not running", task->id())));
  if (req.argv.empty() || req.argv[0].empty())
    return Fail(Error::Make(Code::kInvalidArgument, "no command given"));
  ISOEXEC_ASSIGN_OR_RETURN(UniqueFd target, task->Pidfd());
  auto cg = task->OpenCgroup();
  auto proc = runtime::ExecInto({target.get(), &task->spec(), cg.get()}, req);
  if (!proc) return Fail(std::move(proc.error().error));
  return std::move(*proc);
}

int PollMs(std::optional<std::chrono::system_clock::time_point> deadline) {
  if (!deadline) return kPollSliceMs;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  *deadline - std::chrono::system_clock::now())
                  .count();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left, kPollSliceMs));
}

}  // namespace

Result<ExecOutcome> RunExec(const std::shared_ptr<Task>& task, const std::vector<std::string>& argv,
                            std::optional<std::chrono::system_clock::time_point> deadline,
                            const std::function<bool()>& cancelled) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Fail(Error::Errno(errno, "pipe2"));
  UniqueFd out_r(p[0]), out_w(p[1]);
  runtime::ExecRequest req;
  req.argv = argv;
  req.stdio[0] = -1;  // /dev/null
  req.stdio[1] = out_w.get();
  req.stdio[2] = out_w.get();
  ISOEXEC_ASSIGN_OR_RETURN(auto proc, Start(task, req));
  out_w.reset();
  SetNonBlocking(out_r.get());

  ExecOutcome result;
  bool eof = false, exited = false;
  std::optional<Error> abort;
  std::optional<std::chrono::steady_clock::time_point> drain_until;
  const auto read_some = [&] {
    char buf[8192];
    for (;;) {
      ssize_t n = ::read(out_r.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) eof = true;
      if (n <= 0) return;
      result.output.append(buf, static_cast<size_t>(n));
      if (result.output.size() > kExecOutputLimit)
        result.output.erase(0, result.output.size() - kExecOutputLimit);
    }
  };
  while (!eof) {
    if (drain_until && std::chrono::steady_clock::now() >= *drain_until)
      break;  // a child kept the pipe
    if (!exited && deadline && std::chrono::system_clock::now() >= *deadline) {
      abort =
          Error::Make(Code::kDeadlineExceeded, "exec: the deadline passed; the command was killed");
      break;
    }
    if (cancelled && cancelled()) {
      abort =
          Error::Make(Code::kUnavailable, "exec: the call was cancelled; the command was killed");
      break;
    }
    struct pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {exited ? -1 : proc.pidfd.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, exited ? 20 : PollMs(deadline));
    if (n < 0 && errno != EINTR) return Fail(Error::Errno(errno, "poll"));
    if (n <= 0) continue;
    if (fds[0].revents) read_some();
    if (fds[1].revents) {
      exited = true;
      drain_until = std::chrono::steady_clock::now() + kDrainAfterExit;
    }
  }
  if (abort) {
    (void)sys::PidfdSendSignal(proc.pidfd.get(), SIGKILL);
    (void)runtime::WaitExec(proc.pidfd.get());
    return Fail(std::move(*abort));
  }
  ISOEXEC_ASSIGN_OR_RETURN(result.exit_code, runtime::WaitExec(proc.pidfd.get()));
  return result;
}

// ---------------------------------------------------------------------------------------------
// ExecStreaming

namespace {

using Request = dpb::ExecTaskStreamingRequest;
using Response = dpb::ExecTaskStreamingResponse;

struct Input {
  enum Kind { kData, kClose, kResize } kind;
  std::string data;
  unsigned rows = 0, cols = 0;
};

class ExecStreamReactor final : public ExecStreamReactorBase {
 public:
  explicit ExecStreamReactor(std::shared_ptr<Task> task) : task_(std::move(task)) {
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> l(mu_);
    if (finish_) return;  // finishing (cancelled, bad setup): no more reads, nothing to start
    if (!ok) {
      // The client half-closed (or went away). Like Nomad, that does not close the process's
      // stdin; only an explicit stdin close does.
      if (!setup_done_)
        FinishLocked(l, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "first message should always be setup"));
      return;
    }
    if (!setup_done_) {
      if (!in_.has_setup()) {
        FinishLocked(l, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                     "first message should always be setup"));
        return;
      }
      setup_done_ = true;
      std::vector<std::string> argv(in_.setup().command().begin(), in_.setup().command().end());
      bool tty = in_.setup().tty();
      struct winsize size {};
      if (in_.has_tty_size()) {
        size.ws_row = static_cast<unsigned short>(std::max(0, in_.tty_size().height()));
        size.ws_col = static_cast<unsigned short>(std::max(0, in_.tty_size().width()));
      }
      io_ = std::thread([this, argv = std::move(argv), tty, size] { IoMain(argv, tty, size); });
    } else {
      if (in_.has_stdin()) {
        if (!in_.stdin().data().empty()) input_.push_back({Input::kData, in_.stdin().data()});
        if (in_.stdin().close()) input_.push_back({Input::kClose, {}});
      }
      if (in_.has_tty_size())
        input_.push_back({Input::kResize,
                          {},
                          static_cast<unsigned>(std::max(0, in_.tty_size().height())),
                          static_cast<unsigned>(std::max(0, in_.tty_size().width()))});
      Wake();
    }
    in_.Clear();
    l.unlock();
    StartRead(&in_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> l(mu_);
    writing_ = false;
    if (!out_.empty()) out_.pop_front();
    if (!ok) {
      // The client is gone: nobody reads the output any more.
      broken_ = true;
      out_.clear();
      cancelled_ = true;
    }
    Wake();
    PumpLocked(l);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> l(mu_);
    cancelled_ = true;
    Wake();
    if (!setup_done_) FinishLocked(l, grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void OnDone() override {
    if (io_.joinable()) io_.join();
    log::Debug("exec stream done");
    delete this;
  }

 private:
  void Wake() {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }

  // Starts the next write, or the finish once everything queued was written. Called with the
  // lock held; gRPC is called without it.
  void PumpLocked(std::unique_lock<std::mutex>& l) {
    if (writing_ || finished_) return;
    if (!out_.empty() && !broken_) {
      writing_ = true;
      const Response* r = &out_.front();  // stays put until OnWriteDone pops it
      l.unlock();
      StartWrite(r);
      return;
    }
    if (finish_) {
      finished_ = true;
      grpc::Status s = *finish_;
      l.unlock();
      Finish(s);
    }
  }

  void FinishLocked(std::unique_lock<std::mutex>& l, grpc::Status s) {
    if (!finish_) finish_ = std::move(s);
    PumpLocked(l);
  }

  // From the I/O thread.
  void Send(Response r) {
    std::unique_lock<std::mutex> l(mu_);
    if (broken_ || finish_) return;
    out_.push_back(std::move(r));
    PumpLocked(l);
  }

  void RequestFinish(const grpc::Status& s) {
    std::unique_lock<std::mutex> l(mu_);
    FinishLocked(l, s);
  }

  bool QueueFull() {
    std::lock_guard<std::mutex> l(mu_);
    return out_.size() >= kMaxQueuedFrames;
  }

  bool Cancelled() {
    std::lock_guard<std::mutex> l(mu_);
    return cancelled_;
  }

  std::deque<Input> TakeInput() {
    std::lock_guard<std::mutex> l(mu_);
    std::deque<Input> in;
    in.swap(input_);
    return in;
  }

  static Response Frame(bool is_stderr, const char* data, size_t n, bool close) {
    Response r;
    auto* io = is_stderr ? r.mutable_stderr() : r.mutable_stdout();
    if (n) io->set_data(data, n);
    if (close) io->set_close(true);
    return r;
  }

  void IoMain(const std::vector<std::string>& argv, bool tty, struct winsize size) {
    runtime::ExecRequest req;
    req.argv = argv;
    req.tty = tty;
    req.size = size;
    UniqueFd in_r, in_w, out_r, out_w, err_r, err_w;
    if (!tty) {
      int p[3][2];
      for (auto& pp : p)
        if (::pipe2(pp, O_CLOEXEC) != 0) {
          RequestFinish(ToStatus(Error::Errno(errno, "pipe2")));
          return;
        }
      in_r.reset(p[0][0]);
      in_w.reset(p[0][1]);
      out_r.reset(p[1][0]);
      out_w.reset(p[1][1]);
      err_r.reset(p[2][0]);
      err_w.reset(p[2][1]);
      req.stdio[0] = in_r.get();
      req.stdio[1] = out_w.get();
      req.stdio[2] = err_w.get();
    }
    auto proc = Start(task_, req);
    in_r.reset();
    out_w.reset();
    err_w.reset();
    if (!proc) {
      RequestFinish(ToStatus(proc.error()));
      return;
    }
    const int master = proc->pty_master.get();
    // Output sources: [0] stdout (the pty in tty mode), [1] stderr.
    int src[2] = {tty ? master : out_r.get(), tty ? -1 : err_r.get()};
    bool open[2] = {true, !tty};
    const int stdin_fd = tty ? master : in_w.get();
    for (int fd : {src[0], src[1], stdin_fd})
      if (fd >= 0) SetNonBlocking(fd);
    std::string pending;  // stdin not yet written
    bool close_stdin = false, stdin_closed = false;
    bool exited = false, killed = false;
    std::optional<std::chrono::steady_clock::time_point> drain_until;

    const auto read_from = [&](int i) {
      char buf[kStreamFrameSize];
      for (int rounds = 0; rounds < 16 && open[i]; ++rounds) {
        ssize_t n = ::read(src[i], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {  // EOF; EIO on a pty master once nobody holds the terminal
          open[i] = false;
          Send(Frame(i == 1, nullptr, 0, true));
          return;
        }
        Send(Frame(i == 1, buf, static_cast<size_t>(n), false));
      }
    };

    while (open[0] || open[1]) {
      if (drain_until && std::chrono::steady_clock::now() >= *drain_until) break;
      if (!killed && Cancelled()) {
        (void)sys::PidfdSendSignal(proc->pidfd.get(), SIGKILL);
        killed = true;
      }
      for (auto& in : TakeInput()) {
        if (in.kind == Input::kData && !close_stdin)
          pending += in.data;
        else if (in.kind == Input::kClose)
          close_stdin = true;
        else if (in.kind == Input::kResize && tty)
          (void)runtime::ResizePty(master, in.rows, in.cols);
      }
      if (!stdin_closed && !pending.empty()) {
        ssize_t w = ::write(stdin_fd, pending.data(), pending.size());
        if (w > 0)
          pending.erase(0, static_cast<size_t>(w));
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
          pending.clear();  // the reader is gone
      }
      if (close_stdin && pending.empty() && !stdin_closed) {
        stdin_closed = true;
        if (tty) {
          // A terminal has no half-close: send EOF (^D) like a user would.
          (void)!::write(master, "\x04", 1);
        } else {
          in_w.reset();
        }
      }
      const bool full = QueueFull();
      struct pollfd fds[5] = {{exited ? -1 : proc->pidfd.get(), POLLIN, 0},
                              {wake_.get(), POLLIN, 0},
                              {open[0] && !full ? src[0] : -1, POLLIN, 0},
                              {open[1] && !full ? src[1] : -1, POLLIN, 0},
                              {!stdin_closed && !pending.empty() ? stdin_fd : -1, POLLOUT, 0}};
      int n = ::poll(fds, 5, exited ? 20 : kPollSliceMs);
      if (n < 0 && errno != EINTR) break;
      if (n <= 0) continue;
      if (fds[1].revents) {
        uint64_t v;
        (void)!::read(wake_.get(), &v, sizeof v);
      }
      for (int i = 0; i < 2; ++i)
        if (fds[2 + i].revents) read_from(i);
      if (fds[0].revents) {
        exited = true;
        // Only the lead process counts: what it wrote is read now; a background child that
        // keeps the pipe or terminal open is not waited for.
        drain_until = std::chrono::steady_clock::now() + kDrainAfterExit;
      }
    }
    for (int i = 0; i < 2; ++i)
      if (open[i]) Send(Frame(i == 1, nullptr, 0, true));
    auto code = runtime::WaitExec(proc->pidfd.get());
    Response done;
    done.set_exited(true);
    done.mutable_result()->set_exit_code(code ? *code : -2);  // 128+N when signal N killed it
    Send(std::move(done));
    RequestFinish(killed ? grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")
                         : grpc::Status::OK);
  }

  std::shared_ptr<Task> task_;
  Request in_;
  UniqueFd wake_;
  std::thread io_;

  std::mutex mu_;
  bool setup_done_ = false;
  bool cancelled_ = false;
  std::deque<Input> input_;
  std::deque<Response> out_;
  bool writing_ = false;
  bool broken_ = false;
  std::optional<grpc::Status> finish_;
  bool finished_ = false;
};

}  // namespace

ExecStreamReactorBase* NewExecStreamReactor(std::shared_ptr<Task> task) {
  return new ExecStreamReactor(std::move(task));
}

}  // namespace isoexec::executor
