// tun.cc — tunstack's native TUN addon: opens a Linux TUN device (IFF_TUN | IFF_NO_PI), reads it in
// batches on a libuv readiness callback (one JS call per batch) and writes batches of packets to it.
//
// What this relies on:
//   - Documentation/networking/tuntap.rst (kernel): open /dev/net/tun, ioctl(TUNSETIFF) with
//     struct ifreq { ifr_name, ifr_flags = IFF_TUN | IFF_NO_PI [| IFF_MULTI_QUEUE] [| IFF_VNET_HDR] };
//     every read() returns exactly one packet and every write() injects exactly one packet.
//   - drivers/net/tun.c: a read() whose buffer is smaller than the packet truncates it silently
//     (so each read is offered kReadSpace >= 65535 + virtio-net header bytes); TUNSETIFF fails with
//     EBUSY when a non-multi-queue device of that name already has a reader, EINVAL when the name
//     belongs to a device of another kind, EPERM without CAP_NET_ADMIN; a detached device makes
//     poll() report EPOLLERR and read() fail with EBADFD.
//   - libuv uv_poll (docs.libuv.org, "uv_poll_t — Poll handle"): level-triggered readiness on an fd;
//     "the fd can be safely closed immediately after a call to uv_poll_stop() or uv_close()";
//     on POLLERR libuv stops the handle and calls back with status UV_EBADF.
//   - Node-API (nodejs.org/api/n-api.html): napi_make_callback with an async context runs the
//     microtask queue after the outermost call; napi_fatal_exception turns a pending exception into
//     'uncaughtException'; env cleanup hooks run before a worker's loop is closed (an open uv handle
//     at that point would abort the process).
//
// Offloads: IFF_VNET_HDR is accepted and set only when asked; the caller then sees a struct
// virtio_net_hdr before each packet it reads (include/uapi/linux/virtio_net.h). Its size is set with
// TUNSETVNETHDRSZ (opts.vnetHdrSize, default 10 = sizeof(struct virtio_net_hdr)); setOffload(flags)
// issues TUNSETOFFLOAD (TUN_F_CSUM, TUN_F_TSO4, ...), which lets the kernel hand us GSO super-packets
// (up to 64 KB) and packets with only a partial TCP/UDP checksum. On transmit the caller either writes
// the header itself or, with opts.prependVnetHdr, the addon writes an all-zero header (GSO_NONE, no
// flags) in front of each packet with writev() — one write still injects exactly one packet.

#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>  // TUNSETIFF, IFF_TUN, IFF_NO_PI, IFF_MULTI_QUEUE, IFF_VNET_HDR
#include <net/if.h>        // struct ifreq, IFNAMSIZ, if_nametoindex (glibc's; <linux/if.h> would clash)
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

namespace {

// At most this many packets per JS call, so that one readiness callback cannot starve the loop; the
// poll is level-triggered, so whatever is left is picked up on the next loop iteration.
constexpr uint32_t kMaxBatch = 256;
// Space offered to every read(): the largest IPv4 packet (65535) plus a virtio-net header (10 bytes,
// up to kVnetHdrRoom with TUNSETVNETHDRSZ). tun truncates a packet that does not fit (drivers/net/tun.c,
// tun_put_user copies min(len, iov_iter_count)).
constexpr size_t kVnetHdrRoom = 32;
constexpr size_t kReadSpace = 65536 + kVnetHdrRoom;
// Scratch buffer: room for a full batch of 1500-byte packets plus one maximum-size read.
constexpr size_t kScratchSize = 512 * 1024;
// With IFF_VNET_HDR reads may be 64 KB super-packets: a larger scratch keeps batches useful.
constexpr size_t kScratchSizeVnet = 2 * 1024 * 1024;
// The largest virtio-net header we accept with TUNSETVNETHDRSZ (virtio_net_hdr_v1_hash is 20 bytes).
constexpr int kMaxVnetHdrSize = static_cast<int>(kVnetHdrRoom);

// The errno's symbolic name ("EPERM"); libuv knows most of them, EBADFD it does not.
std::string ErrnoName(int e) {
  switch (e) {
    case EBADFD: return "EBADFD";
    case ENOBUFS: return "ENOBUFS";
    default: break;
  }
  const char* n = uv_err_name(uv_translate_sys_error(e));
  if (n != nullptr && strncmp(n, "Unknown", 7) != 0) return n;
  return "E" + std::to_string(e);
}

// An Error shaped like Node's system errors: message, code, errno (negative, as libuv reports it), syscall.
Napi::Error SysError(Napi::Env env, const std::string& message, const std::string& code, int err,
                     const char* syscall) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  if (err != 0) e.Set("errno", Napi::Number::New(env, -err));
  if (syscall != nullptr) e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

void ThrowSys(Napi::Env env, const std::string& message, const std::string& code, int err, const char* syscall) {
  SysError(env, message, code, err, syscall).ThrowAsJavaScriptException();
}

// "tun%d" style templates are allowed (the kernel picks the number); otherwise the kernel's
// dev_valid_name rules: 1..15 bytes, not "." or "..", no '/', ':' or whitespace.
bool ValidIfName(const std::string& n) {
  if (n.empty() || n.size() >= IFNAMSIZ || n == "." || n == "..") return false;
  for (unsigned char c : n) {
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

class TunHandle : public Napi::ObjectWrap<TunHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TunHandle",
                       {
                           InstanceAccessor<&TunHandle::GetName>("name"),
                           InstanceAccessor<&TunHandle::GetFd>("fd"),
                           InstanceAccessor<&TunHandle::GetClosed>("closed"),
                           InstanceAccessor<&TunHandle::GetPolling>("polling"),
                           InstanceAccessor<&TunHandle::GetVnetHdr>("vnetHdr"),
                           InstanceAccessor<&TunHandle::GetMultiQueue>("multiQueue"),
                           InstanceAccessor<&TunHandle::GetVnetHdrSize>("vnetHdrSize"),
                           InstanceMethod<&TunHandle::SetOffload>("setOffload"),
                           InstanceMethod<&TunHandle::SetMtu>("setMtu"),
                           InstanceMethod<&TunHandle::Start>("start"),
                           InstanceMethod<&TunHandle::Stop>("stop"),
                           InstanceMethod<&TunHandle::RefHandle>("ref"),
                           InstanceMethod<&TunHandle::UnrefHandle>("unref"),
                           InstanceMethod<&TunHandle::Write>("write"),
                           InstanceMethod<&TunHandle::WriteBatch>("writeBatch"),
                           InstanceMethod<&TunHandle::Close>("close"),
                           InstanceMethod<&TunHandle::Stats>("stats"),
                       });
  }

  // new TunHandle(opts): opens and attaches the device; throws (sets a pending exception) on failure,
  // in which case node-addon-api deletes the instance, so the destructor must cope with a half-built one.
  explicit TunHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TunHandle>(info) {
    Napi::Env env = info.Env();
    std::string requested;
    bool setHdrSize = false;
    if (info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNull()) {
      if (!info[0].IsObject()) {
        Napi::TypeError::New(env, "tun.open(opts): opts must be an object").ThrowAsJavaScriptException();
        return;
      }
      Napi::Object opts = info[0].As<Napi::Object>();
      Napi::Value name = opts.Get("name");
      if (!name.IsUndefined() && !name.IsNull()) {
        if (!name.IsString()) {
          Napi::TypeError::New(env, "tun.open(opts): opts.name must be a string").ThrowAsJavaScriptException();
          return;
        }
        requested = name.As<Napi::String>().Utf8Value();
        if (!ValidIfName(requested)) {
          Napi::TypeError::New(env, "invalid TUN device name \"" + requested +
                                        "\": use 1-15 characters without '/', ':' or spaces")
              .ThrowAsJavaScriptException();
          return;
        }
      }
      multiQueue_ = opts.Get("multiQueue").ToBoolean().Value();
      vnetHdr_ = opts.Get("vnetHdr").ToBoolean().Value();
      if (env.IsExceptionPending()) return;
      Napi::Value hs = opts.Get("vnetHdrSize");
      if (!hs.IsUndefined() && !hs.IsNull()) {
        double d = hs.IsNumber() ? hs.As<Napi::Number>().DoubleValue() : -1;
        // tun_set_vnet_hdr_sz (drivers/net/tun_vnet.h): EINVAL below sizeof(struct virtio_net_hdr).
        if (!vnetHdr_ || !(d >= 10 && d <= kMaxVnetHdrSize) || d != static_cast<double>(static_cast<int>(d))) {
          Napi::TypeError::New(env, "tun.open(opts): opts.vnetHdrSize must be an integer from 10 to " +
                                        std::to_string(kMaxVnetHdrSize) + ", with opts.vnetHdr")
              .ThrowAsJavaScriptException();
          return;
        }
        vnetHdrSize_ = static_cast<int>(d);
        setHdrSize = true;
      }
      prependVnetHdr_ = opts.Get("prependVnetHdr").ToBoolean().Value();
      if (env.IsExceptionPending()) return;
      if (prependVnetHdr_ && !vnetHdr_) {
        Napi::TypeError::New(env, "tun.open(opts): opts.prependVnetHdr needs opts.vnetHdr").ThrowAsJavaScriptException();
        return;
      }
    }

    // tuntap.rst: "open /dev/net/tun"; O_NONBLOCK so reads return EAGAIN instead of blocking the loop.
    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EPERM || e == EACCES) {
        ThrowSys(env, "tunstack needs CAP_NET_ADMIN: run it with sudo", "EPERM", e, "open");
      } else if (e == ENOENT || e == ENODEV || e == ENXIO) {
        ThrowSys(env, "/dev/net/tun is missing: load the TUN driver with `sudo modprobe tun`", "ENOENT", e,
                 "open");
      } else {
        ThrowSys(env, std::string("opening the TUN device failed: ") + strerror(e), ErrnoName(e), e, "open");
      }
      return;
    }

    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    // IFF_TUN: layer-3 packets; IFF_NO_PI: no 4-byte packet-information prefix (tuntap.rst §3.2).
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (multiQueue_) ifr.ifr_flags |= IFF_MULTI_QUEUE;  // tuntap.rst §3.3: one fd per queue, same name
    if (vnetHdr_) ifr.ifr_flags |= IFF_VNET_HDR;        // virtio_net_hdr before each packet; offloads later
    // An empty name makes the kernel choose "tun%d".
    if (!requested.empty()) memcpy(ifr.ifr_name, requested.data(), requested.size());
    if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int e = errno;
      ::close(fd);
      const std::string shown = requested.empty() ? std::string("tun%d") : requested;
      if (e == EPERM || e == EACCES) {
        ThrowSys(env, "tunstack needs CAP_NET_ADMIN: run it with sudo", "EPERM", e, "ioctl(TUNSETIFF)");
      } else if (e == EBUSY || (e == EINVAL && !requested.empty() && requested.find('%') == std::string::npos &&
                                if_nametoindex(requested.c_str()) != 0)) {
        // EBUSY: a TUN device of that name already has its reader. EINVAL with an existing name: the
        // name belongs to a device of another kind (or with other flags) — busy, for the user.
        ThrowSys(env, "TUN device " + shown + " is busy: pick another --tun name", "EBUSY", e, "ioctl(TUNSETIFF)");
      } else {
        ThrowSys(env, std::string("opening the TUN device failed: ") + strerror(e), ErrnoName(e), e,
                 "ioctl(TUNSETIFF)");
      }
      return;
    }
    name_.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
    if (setHdrSize) {
      int sz = vnetHdrSize_;
      if (::ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
        int e = errno;
        ::close(fd);
        ThrowSys(env, std::string("setting the virtio-net header size failed: ") + strerror(e), ErrnoName(e), e,
                 "ioctl(TUNSETVNETHDRSZ)");
        return;
      }
    }

    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      ::close(fd);
      Napi::Error::New(env, "tun: no libuv loop for this environment").ThrowAsJavaScriptException();
      return;
    }
    auto* poll = new uv_poll_t;
    int r = uv_poll_init(loop, poll, fd);
    if (r != 0) {
      delete poll;  // never initialised, so no uv_close
      ::close(fd);
      ThrowSys(env, std::string("opening the TUN device failed: ") + uv_strerror(r), uv_err_name(r), -r,
               "uv_poll_init");
      return;
    }
    poll->data = this;
    poll_ = poll;
    fd_ = fd;
    env_ = env;
    // Closes the fd and the poll handle if the environment goes away first (worker exit).
    napi_add_env_cleanup_hook(env, &TunHandle::CleanupHook, this);
    hookAdded_ = true;
  }

  // Finalizer: the JS object was collected (it is never collected while polling: Start holds a
  // strong reference) or its construction failed.
  ~TunHandle() override { Release(/*fromJs=*/false); }

 private:
  // ---- accessors -------------------------------------------------------------------------------
  Napi::Value GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), fd_ < 0); }
  Napi::Value GetPolling(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), polling_); }
  Napi::Value GetVnetHdr(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), vnetHdr_); }
  Napi::Value GetMultiQueue(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), multiQueue_);
  }

  Napi::Value GetVnetHdrSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), vnetHdr_ ? vnetHdrSize_ : 0);
  }

  // ---- setOffload(flags) ---------------------------------------------------------------------------
  // TUNSETOFFLOAD (drivers/net/tun.c, set_offload): flags are TUN_F_CSUM | TUN_F_TSO4 | ...; the kernel
  // rejects flags it does not know with EINVAL. TSO flags without TUN_F_CSUM are ignored by the kernel.
  // Only meaningful with IFF_VNET_HDR (without it the reader could not see GSO or partial checksums).
  Napi::Value SetOffload(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "setOffload")) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "setOffload(flags): flags must be a number").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 0xffffffff) || d != static_cast<double>(static_cast<uint32_t>(d))) {
      Napi::RangeError::New(env, "setOffload(flags): flags must be a 32-bit unsigned integer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!vnetHdr_ && d != 0) {
      ThrowSys(env, "setOffload: offloads need a device opened with vnetHdr", "EINVAL", EINVAL, "ioctl(TUNSETOFFLOAD)");
      return env.Undefined();
    }
    unsigned long flags = static_cast<unsigned long>(d);
    if (::ioctl(fd_, TUNSETOFFLOAD, flags) < 0) {
      int e = errno;
      ThrowSys(env, std::string("setting TUN offloads failed: ") + strerror(e), ErrnoName(e), e, "ioctl(TUNSETOFFLOAD)");
    }
    return env.Undefined();
  }

  bool CheckOpen(Napi::Env env, const char* what) {
    if (fd_ >= 0) return true;
    ThrowSys(env, std::string("TUN device ") + name_ + " is closed (" + what + ")", "ERR_TUN_CLOSED", 0, nullptr);
    return false;
  }

  // ---- setMtu(n) -------------------------------------------------------------------------------
  // SIOCSIFMTU on an AF_INET datagram socket (netdevice(7)). The socket lives in the CALLER's network
  // namespace, so this must run before the device is moved into another namespace
  // (`ip link set DEV netns NS`); afterwards the name is unknown here and the ioctl fails with ENODEV.
  Napi::Value SetMtu(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "setMtu")) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "setMtu(mtu): mtu must be a number").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    double m = info[0].As<Napi::Number>().DoubleValue();
    // 68: the IPv4 minimum (RFC 791); 65535: the tun driver's max_mtu (MAX_MTU in drivers/net/tun.c).
    if (!(m >= 68 && m <= 65535) || m != static_cast<double>(static_cast<int>(m))) {
      Napi::RangeError::New(env, "setMtu(mtu): mtu must be an integer from 68 to 65535").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
      int e = errno;
      ThrowSys(env, std::string("setting the MTU failed: ") + strerror(e), ErrnoName(e), e, "socket");
      return env.Undefined();
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name_.data(), name_.size());
    ifr.ifr_mtu = static_cast<int>(m);
    int r = ::ioctl(s, SIOCSIFMTU, &ifr);
    int e = errno;
    ::close(s);
    if (r < 0) {
      if (e == EPERM || e == EACCES) {
        ThrowSys(env, "tunstack needs CAP_NET_ADMIN: run it with sudo", "EPERM", e, "ioctl(SIOCSIFMTU)");
      } else if (e == ENODEV) {
        ThrowSys(env,
                 "setting the MTU of " + name_ +
                     " failed: no such device in this network namespace (set the MTU before moving it)",
                 "ENODEV", e, "ioctl(SIOCSIFMTU)");
      } else {
        ThrowSys(env, "setting the MTU of " + name_ + " failed: " + strerror(e), ErrnoName(e), e, "ioctl(SIOCSIFMTU)");
      }
    }
    return env.Undefined();
  }

  // ---- start(onBatch, onError?) / stop() ---------------------------------------------------------
  // onBatch(buffer, lengths, count): the packets of one batch back to back in `buffer`.
  // onError(err): the device stopped delivering (e.g. it was deleted); polling has stopped. Without
  // onError such an error becomes an 'uncaughtException'.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "start")) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "start(onBatch): onBatch must be a function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsFunction()) {
      Napi::TypeError::New(env, "start(onBatch, onError): onError must be a function").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int r = uv_poll_start(poll_, UV_READABLE, &TunHandle::OnPoll);
    if (r != 0) {
      ThrowSys(env, std::string("polling the TUN device failed: ") + uv_strerror(r), uv_err_name(r), -r,
               "uv_poll_start");
      return env.Undefined();
    }
    onBatch_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (info.Length() > 1 && info[1].IsFunction()) {
      onError_ = Napi::Persistent(info[1].As<Napi::Function>());
    } else {
      onError_.Reset();
    }
    if (!polling_) {
      polling_ = true;
      // While polling, the JS object must not be collected (the loop calls back into it).
      Napi::ObjectWrap<TunHandle>::Ref();
      asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "TunRead", Value());
    }
    if (scratch_.empty()) scratch_.resize(vnetHdr_ ? kScratchSizeVnet : kScratchSize);
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    StopPolling(/*fromJs=*/true);
    return info.Env().Undefined();
  }

  // ref()/unref(): like net.Socket — an unref'd handle does not keep the process alive while polling.
  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  void StopPolling(bool fromJs) {
    if (!polling_) return;
    polling_ = false;
    if (poll_ != nullptr) uv_poll_stop(poll_);
    if (fromJs) {
      onBatch_.Reset();
      onError_.Reset();
      // Called from inside onBatch/onError (stop() or close() in the callback): the context is still in
      // use by the running napi_make_callback, so destroy it only once that call has returned.
      if (callbackDepth_ > 0) {
        retiredContexts_.push_back(std::move(asyncContext_));
      } else {
        asyncContext_.reset();
      }
      Napi::ObjectWrap<TunHandle>::Unref();
    } else {
      // Finalizer / env teardown: the references die with the object; don't call into the engine.
      onBatch_.SuppressDestruct();
      onError_.SuppressDestruct();
      if (asyncContext_) (void)asyncContext_.release();  // leaked on purpose: napi_async_destroy needs a live env
    }
  }

  // ---- the readiness callback --------------------------------------------------------------------
  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<TunHandle*>(handle->data);
    if (self == nullptr) return;  // closed while the callback was queued
    self->OnReadable(status, events);
  }

  void OnReadable(int status, int /*events*/) {
    int err = 0;  // a positive errno, or a negative libuv error
    size_t used = 0;
    uint32_t count = 0;
    if (status < 0) {
      // libuv saw POLLERR (and stopped the handle). Ask read() for the precise reason (EBADFD when
      // the device was deleted); if it has no error to give, report libuv's.
      ssize_t n = ::read(fd_, scratch_.data(), kReadSpace);
      if (n > 0) {
        lengths_[count++] = static_cast<uint32_t>(n);
        used = static_cast<size_t>(n);
      }
      err = (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ? errno : status;
      readErrors_++;
    } else {
      // Read until EAGAIN, the batch cap, or too little room left for a maximum-size packet.
      while (count < kMaxBatch && scratch_.size() - used >= kReadSpace) {
        ssize_t n = ::read(fd_, scratch_.data() + used, scratch_.size() - used);
        if (n > 0) {
          lengths_[count++] = static_cast<uint32_t>(n);
          used += static_cast<size_t>(n);
          continue;
        }
        if (n == 0) break;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        err = errno;
        readErrors_++;
        break;
      }
    }
    if (count == 0 && err == 0) return;  // spurious wake-up: nothing to tell JS
    if (count > 0) {
      packetsRead_ += count;
      bytesRead_ += used;
      batches_++;
    }

    Napi::Env env = env_;
    Napi::HandleScope scope(env);
    // A local handle on our own JS object keeps it alive for the duration of the calls below even if
    // a callback closes and drops it.
    Napi::Object self = Value();
    callbackDepth_++;
    if (count > 0 && polling_ && !onBatch_.IsEmpty()) {
      // One copy of the used region into a fresh Buffer: the receiver may keep views into it.
      Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::Copy(env, scratch_.data(), used);
      Napi::Uint32Array lens = Napi::Uint32Array::New(env, count);
      memcpy(lens.Data(), lengths_, count * sizeof(uint32_t));
      // Copy the function to a local: the callback may call stop()/start() and reset onBatch_.
      Napi::Function fn = onBatch_.Value();
      napi_value argv[3] = {buf, lens, Napi::Number::New(env, count)};
      napi_value result;
      napi_make_callback(env, *asyncContext_, self, fn, 3, argv, &result);
      RethrowAsUncaught(env);
    }
    if (err != 0 && fd_ >= 0 && polling_) {
      std::string code = err > 0 ? ErrnoName(err) : std::string(uv_err_name(err));
      std::string why = err > 0 ? std::string(strerror(err)) : std::string(uv_strerror(err));
      Napi::Error e = SysError(env, "TUN device " + name_ + " stopped delivering packets: " + why, code,
                               err > 0 ? err : -err, "read");
      Napi::Function fn = onError_.IsEmpty() ? Napi::Function() : onError_.Value();
      napi_async_context actx = *asyncContext_;
      // Stop first (the handler may restart or close); StopPolling retires the context (depth > 0), so
      // it stays valid for the call below.
      StopPolling(/*fromJs=*/true);
      if (!fn.IsEmpty()) {
        napi_value argv[1] = {e.Value()};
        napi_value result;
        napi_make_callback(env, actx, self, fn, 1, argv, &result);
        RethrowAsUncaught(env);
      } else {
        napi_fatal_exception(env, e.Value());
      }
    }
    if (--callbackDepth_ == 0) retiredContexts_.clear();
  }

  // A JS exception from a callback must not vanish inside the uv callback: Node-API leaves it pending
  // on the env, so hand it to process 'uncaughtException' (napi_fatal_exception).
  static void RethrowAsUncaught(Napi::Env env) {
    if (!env.IsExceptionPending()) return;
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
  }

  // ---- writes ------------------------------------------------------------------------------------
  // One write() per packet: tun injects exactly one packet per write (writev would concatenate the
  // iovecs into ONE packet) and a TUN fd is not a socket, so there is no sendmmsg. A failed write is
  // a drop, never a throw: EAGAIN/ENOBUFS (queue full), EIO (device down: tun_get_user), EINVAL
  // (malformed or too short), EFAULT, ... all count in writeErrors.
  // With prependVnetHdr, a zeroed header goes in front through writev (tun_get_user reads the header
  // and the packet from one iov_iter, so the iovecs form ONE packet). bytesWritten counts packet bytes.
  bool WriteOne(const uint8_t* p, size_t len, const uint8_t* hdr = nullptr) {
    for (;;) {
      ssize_t n;
      size_t want = len;
      if (prependVnetHdr_) {
        struct iovec v[2];
        // A caller-supplied virtio_net_hdr (GSO/TSO: gso_type, gso_size, NEEDS_CSUM) or zeros.
        v[0].iov_base = hdr != nullptr ? const_cast<uint8_t*>(hdr) : zeroHdr_;
        v[0].iov_len = static_cast<size_t>(vnetHdrSize_);
        v[1].iov_base = const_cast<uint8_t*>(p);
        v[1].iov_len = len;
        want += static_cast<size_t>(vnetHdrSize_);
        n = ::writev(fd_, v, 2);
      } else {
        n = ::write(fd_, p, len);
      }
      if (n >= 0 && static_cast<size_t>(n) == want) {
        packetsWritten_++;
        bytesWritten_ += len;
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      writeErrors_++;
      return false;
    }
  }

  static bool TypedArrayBytes(napi_env env, napi_value v, const uint8_t** data, size_t* len) {
    bool isTa = false;
    if (napi_is_typedarray(env, v, &isTa) != napi_ok || !isTa) return false;
    napi_typedarray_type type;
    size_t length = 0;
    void* ptr = nullptr;
    // `ptr` already includes the view's byteOffset.
    if (napi_get_typedarray_info(env, v, &type, &length, &ptr, nullptr, nullptr) != napi_ok) return false;
    if (type != napi_uint8_array) return false;
    *data = static_cast<const uint8_t*>(ptr);
    *len = length;
    return true;
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "write")) return env.Undefined();
    const uint8_t* data = nullptr;
    size_t len = 0;
    if (info.Length() < 1 || !TypedArrayBytes(env, info[0], &data, &len)) {
      Napi::TypeError::New(env, "write(packet): packet must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Boolean::New(env, WriteOne(data, len));
  }

  Napi::Value WriteBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env, "writeBatch")) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsArray()) {
      Napi::TypeError::New(env, "writeBatch(packets): packets must be an array of Uint8Array")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    napi_value arr = info[0];
    uint32_t n = 0;
    napi_get_array_length(env, arr, &n);
    // Validate everything first so a bad element throws before anything is written. The pointers
    // stay valid: nothing below allocates on the JS heap, so no GC can run in between.
    iov_.resize(n);
    for (uint32_t i = 0; i < n; i++) {
      napi_value el;
      const uint8_t* data = nullptr;
      size_t len = 0;
      if (napi_get_element(env, arr, i, &el) != napi_ok || !TypedArrayBytes(env, el, &data, &len)) {
        if (env.IsExceptionPending()) return env.Undefined();
        Napi::TypeError::New(env, "writeBatch(packets): packets[" + std::to_string(i) + "] is not a Uint8Array")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
      iov_[i].iov_base = const_cast<uint8_t*>(data);
      iov_[i].iov_len = len;
    }
    // Optional second argument (with prependVnetHdr): an array whose element i, when a Uint8Array of
    // the header size, replaces the zero header of packet i (send-side GSO, virtio_net.h).
    hdrs_.assign(n, nullptr);
    if (info.Length() >= 2 && info[1].IsArray() && prependVnetHdr_) {
      napi_value harr = info[1];
      uint32_t hn = 0;
      napi_get_array_length(env, harr, &hn);
      for (uint32_t i = 0; i < hn && i < n; i++) {
        napi_value el;
        const uint8_t* data = nullptr;
        size_t len = 0;
        if (napi_get_element(env, harr, i, &el) != napi_ok) continue;
        if (TypedArrayBytes(env, el, &data, &len) && len == static_cast<size_t>(vnetHdrSize_)) hdrs_[i] = data;
      }
      if (env.IsExceptionPending()) return env.Undefined();
    }
    uint32_t written = 0;
    for (uint32_t i = 0; i < n; i++) {
      if (WriteOne(static_cast<const uint8_t*>(iov_[i].iov_base), iov_[i].iov_len, hdrs_[i])) written++;
    }
    return Napi::Number::New(env, written);
  }

  // ---- close / stats ---------------------------------------------------------------------------
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release(/*fromJs=*/true);
    return info.Env().Undefined();
  }

  // Idempotent. Order per the uv_poll docs: stop polling, close the fd (a non-persistent TUN device
  // disappears with its last fd — tuntap.rst), then uv_close the handle; the handle's memory is freed
  // in its close callback, on a later loop iteration, never here.
  void Release(bool fromJs) {
    StopPolling(fromJs);
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (poll_ != nullptr) {
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (hookAdded_ && !inCleanupHook_) {
      napi_remove_env_cleanup_hook(env_, &TunHandle::CleanupHook, this);
    }
    hookAdded_ = false;
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<TunHandle*>(arg);
    self->inCleanupHook_ = true;
    self->Release(/*fromJs=*/false);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("packetsRead", Napi::Number::New(env, static_cast<double>(packetsRead_)));
    o.Set("bytesRead", Napi::Number::New(env, static_cast<double>(bytesRead_)));
    o.Set("batches", Napi::Number::New(env, static_cast<double>(batches_)));
    o.Set("readErrors", Napi::Number::New(env, static_cast<double>(readErrors_)));
    o.Set("packetsWritten", Napi::Number::New(env, static_cast<double>(packetsWritten_)));
    o.Set("bytesWritten", Napi::Number::New(env, static_cast<double>(bytesWritten_)));
    o.Set("writeErrors", Napi::Number::New(env, static_cast<double>(writeErrors_)));
    return o;
  }

  napi_env env_ = nullptr;
  int fd_ = -1;
  std::string name_;
  bool multiQueue_ = false;
  bool vnetHdr_ = false;
  bool prependVnetHdr_ = false;
  int vnetHdrSize_ = 10;  // the kernel's default, sizeof(struct virtio_net_hdr)
  uint8_t zeroHdr_[kMaxVnetHdrSize] = {};
  uv_poll_t* poll_ = nullptr;  // heap-allocated; freed by uv_close's callback
  bool polling_ = false;
  bool hookAdded_ = false;
  bool inCleanupHook_ = false;
  Napi::FunctionReference onBatch_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;  // exists exactly while polling_
  std::vector<std::unique_ptr<Napi::AsyncContext>> retiredContexts_;
  int callbackDepth_ = 0;  // > 0 while OnReadable is calling into JS
  std::vector<uint8_t> scratch_;  // allocated on first start()
  uint32_t lengths_[kMaxBatch];
  std::vector<struct iovec> iov_;  // writeBatch's validated views, reused
  std::vector<const uint8_t*> hdrs_;  // writeBatch's per-packet virtio headers (nullptr: zeros)
  uint64_t packetsRead_ = 0, bytesRead_ = 0, batches_ = 0, readErrors_ = 0;
  uint64_t packetsWritten_ = 0, bytesWritten_ = 0, writeErrors_ = 0;
};

// Per-environment state (main thread and each worker get their own): the class constructor.
struct AddonData {
  Napi::FunctionReference ctor;
};

// open(opts?) → TunHandle
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* data = env.GetInstanceData<AddonData>();
  Napi::Value opts = info.Length() > 0 ? info[0] : env.Undefined();
  return data->ctor.New({opts});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->ctor = Napi::Persistent(TunHandle::Define(env));
  env.SetInstanceData<AddonData>(data);
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("maxBatch", Napi::Number::New(env, kMaxBatch));
  exports.Set("readSpace", Napi::Number::New(env, static_cast<double>(kReadSpace)));
  // include/uapi/linux/if_tun.h offload flags for setOffload.
  Napi::Object off = Napi::Object::New(env);
  off.Set("TUN_F_CSUM", Napi::Number::New(env, TUN_F_CSUM));
  off.Set("TUN_F_TSO4", Napi::Number::New(env, TUN_F_TSO4));
  off.Set("TUN_F_TSO6", Napi::Number::New(env, TUN_F_TSO6));
  off.Set("TUN_F_TSO_ECN", Napi::Number::New(env, TUN_F_TSO_ECN));
  off.Set("TUN_F_UFO", Napi::Number::New(env, TUN_F_UFO));
  exports.Set("offloadFlags", off);
  return exports;
}

}  // namespace

NODE_API_MODULE(tun, Init)
