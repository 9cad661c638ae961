#include "pipeline/dna_pipeline.h"

#include <tbb/concurrent_queue.h>
#include <tbb/flow_graph.h>
#include <tbb/parallel_for.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "io/task_config.h"
#include "ops/encoder.h"
#include "ops/error.h"

namespace mf {

namespace {

using Key = std::pair<int64_t, int64_t>;  // (input, record)

struct RecordStream {
  RecordInfo info;
  EncoderState state;                    // device thread only
  std::unique_ptr<WindowPooler> pooler;  // head node only
  int64_t length = 0;                    // head node only
  bool dropped = false;                  // device thread only: chunks dropped after a stop
};

struct Chunk {
  std::shared_ptr<RecordStream> stream;  // null: every reader is done
  int buf = -1;                    // token buffer (-1: no tokens, an end marker)
  int64_t n = 0;
  bool first = false, last = false;
  RecordEnd end = RecordEnd::Complete;
  int64_t length_after = 0;        // set by the head: bases of the record so far
};

struct Batch {
  std::vector<Chunk> chunks;
  std::vector<int64_t> row;  // first hidden row of each chunk
  int hidden = -1;           // hidden buffer, until released
  std::vector<PooledWindows> windows;
  std::vector<std::vector<float>> probs;
};
using BatchPtr = std::shared_ptr<Batch>;

// A fixed set of buffers handed out by index; acquire() blocks until one is free or `quit`.
class BufferPool {
 public:
  explicit BufferPool(int n) {
    for (int i = n - 1; i >= 0; --i) free_.push_back(i);
  }
  int acquire(const std::function<bool()>& quit) {
    std::unique_lock<std::mutex> lk(m_);
    while (free_.empty()) {
      if (quit()) return -1;
      cv_.wait_for(lk, std::chrono::milliseconds(50));
    }
    const int i = free_.back();
    free_.pop_back();
    return i;
  }
  void release(int i) {
    if (i < 0) return;
    {
      std::lock_guard<std::mutex> lk(m_);
      free_.push_back(i);
    }
    cv_.notify_one();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<int> free_;
};


// Puts records in input order in front of an ordered sink: events of the record being
// waited for go straight through; others are kept until their turn.
class Orderer {
 public:
  explicit Orderer(ResultSink& sink) : sink_(sink), pass_(!sink.ordered()) {}

  int64_t current_input() const { return cur_input_.load(); }
  void input_done(int64_t input, int64_t records) {
    std::lock_guard<std::mutex> lk(m_);
    counts_[input] = records;
  }
  void begin(const std::shared_ptr<RecordStream>& s) { deliver(s, Event{Event::Begin}); }
  void windows(const std::shared_ptr<RecordStream>& s, const PooledWindows& w, const float* values, int64_t width) {
    if (w.size() == 0) return;
    const WindowValues v{w.start.data(), w.end.data(), values, w.size(), width};
    settle();
    if (pass_ || key(*s) == cur_) { sink_.windows(s->info, v); return; }
    Event e{Event::Windows};
    e.start = w.start;
    e.end = w.end;
    e.values.assign(values, values + w.size() * width);
    e.width = width;
    pending_[key(*s)].push_back(std::move(e));
    pending_info_[key(*s)] = s;
  }
  void positions(const std::shared_ptr<RecordStream>& s, const float* rows, int64_t n, int64_t width) {
    settle();
    if (pass_ || key(*s) == cur_) { sink_.positions(s->info, rows, n, width); return; }
    Event e{Event::Positions};
    e.values.assign(rows, rows + n * width);
    e.width = width;
    e.n = n;
    pending_[key(*s)].push_back(std::move(e));
    pending_info_[key(*s)] = s;
  }
  void end(const std::shared_ptr<RecordStream>& s, RecordEnd how, int64_t length) {
    Event e{Event::End};
    e.how = how;
    e.n = length;
    deliver(s, std::move(e));
  }
  // Moves on past records whose inputs have finished; at the very end, flushes everything.
  void settle(bool all = false) {
    if (pass_) return;
    for (;;) {
      {
        std::lock_guard<std::mutex> lk(m_);
        auto c = counts_.find(cur_.first);
        if (c != counts_.end() && cur_.second >= c->second) {
          cur_ = {cur_.first + 1, 0};
          cur_input_.store(cur_.first);
          continue;
        }
      }
      auto p = pending_.find(cur_);
      if (p != pending_.end()) {
        auto s = pending_info_[cur_];
        bool ended = false;
        for (auto& e : p->second) ended |= apply(s, e);
        pending_.erase(p);
        pending_info_.erase(cur_);
        if (ended) { ++cur_.second; continue; }
      }
      if (all && !pending_.empty()) { cur_ = pending_.begin()->first; cur_input_.store(cur_.first); continue; }
      return;
    }
  }

 private:
  struct Event {
    enum Kind { Begin, Windows, Positions, End } kind;
    std::vector<int64_t> start, end;
    std::vector<float> values;
    int64_t width = 0, n = 0;
    RecordEnd how = RecordEnd::Complete;
  };
  static Key key(const RecordStream& s) { return {s.info.input_index, s.info.record_index}; }

  bool apply(const std::shared_ptr<RecordStream>& s, const Event& e) {
    switch (e.kind) {
      case Event::Begin: sink_.begin_record(s->info); return false;
      case Event::Windows:
        sink_.windows(s->info, WindowValues{e.start.data(), e.end.data(), e.values.data(), int64_t(e.start.size()), e.width});
        return false;
      case Event::Positions: sink_.positions(s->info, e.values.data(), e.n, e.width); return false;
      case Event::End: sink_.end_record(s->info, e.how, e.n); return true;
    }
    return false;
  }
  void deliver(const std::shared_ptr<RecordStream>& s, Event e) {
    if (pass_) { apply(s, e); return; }
    settle();
    if (key(*s) == cur_) {
      if (apply(s, e)) { ++cur_.second; settle(); }
      return;
    }
    pending_[key(*s)].push_back(std::move(e));
    pending_info_[key(*s)] = s;
  }

  ResultSink& sink_;
  bool pass_;
  Key cur_{0, 0};
  std::atomic<int64_t> cur_input_{0};
  std::map<Key, std::vector<Event>> pending_;
  std::map<Key, std::shared_ptr<RecordStream>> pending_info_;
  std::mutex m_;
  std::map<int64_t, int64_t> counts_;
};

}  // namespace

struct DnaPipeline::Impl {
  std::shared_ptr<const MambaModel> model;
  PipelineOptions o;
  std::unique_ptr<Encoder> enc;
  std::unique_ptr<LinearHead> head;
  int64_t D = 0, budget = 0;
  // Host buffers, allocated (and touched) at construction and reused by every run: the memory a
  // run can use is fixed before it starts, and a run does not pay for allocating it.
  static constexpr int kHidden = 3;
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::vector<float>> hidden;

  // progress
  std::atomic<int64_t> bases{0}, inputs_done{0}, inputs_total{0}, bytes_finished{0}, bytes_total{0};
  mutable std::mutex progress_m;
  std::map<int64_t, std::pair<double, int64_t>> reading;  // input -> (fraction read, size)
  std::string current;

  int64_t readers() const {
    return o.readers > 0 ? o.readers : std::max<int64_t>(1, std::min<int64_t>(o.batch, 4));
  }
  int64_t in_flight(int64_t nreaders) const { return o.in_flight > 0 ? o.in_flight : 2 * o.batch + 2 * nreaders; }
};

DnaPipeline::DnaPipeline(std::shared_ptr<const MambaModel> model, PipelineOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.model = std::move(model);
  m.o = std::move(options);
  if (m.o.chunk < 1) fail("chunk must be >= 1");
  if (m.o.batch < 1) fail("batch must be >= 1");
  m.o.task.validate("task");
  m.D = m.model->config.d_model;
  m.budget = std::max<int64_t>(m.o.chunk, 65536);
  if (m.o.task.task != Task::Embed) m.head = make_linear_head(*m.model, m.o.task);
  EncoderLimits lim;
  lim.max_tokens = m.budget;
  const int64_t r = std::max<int64_t>(m.readers(), 4);
  lim.max_streams = m.in_flight(r) + 2 * r + 1;
  m.enc = std::make_unique<Encoder>(m.model, m.o.device, m.o.dtype, lim);
  m.tokens.assign(size_t(m.in_flight(m.readers())), std::vector<int32_t>(size_t(m.o.chunk)));
  m.hidden.assign(Impl::kHidden, std::vector<float>(size_t(m.budget * m.D), 0.0f));
}

DnaPipeline::~DnaPipeline() = default;

std::string DnaPipeline::describe() const {
  const Device d = impl_->o.device;
  return (d.is_cpu() ? std::string("cpu") : d.str() + " (" + device_description(d) + ")") + ", " +
         std::string(dtype_name(impl_->o.dtype));
}

int64_t DnaPipeline::host_buffer_bytes() const {
  const Impl& m = *impl_;
  int64_t bytes = 0;
  for (const auto& t : m.tokens) bytes += int64_t(t.size()) * 4;
  for (const auto& h : m.hidden) bytes += int64_t(h.size()) * 4;
  return bytes;
}

ProgressSnapshot DnaPipeline::progress() const {
  const Impl& m = *impl_;
  ProgressSnapshot p;
  p.bases = m.bases.load();
  p.inputs_done = m.inputs_done.load();
  p.inputs_total = m.inputs_total.load();
  p.bytes_total = m.bytes_total.load();
  p.bytes_done = m.bytes_finished.load();
  std::lock_guard<std::mutex> lk(m.progress_m);
  for (const auto& [i, fs] : m.reading) p.bytes_done += int64_t(fs.first * double(fs.second));
  p.current = m.current;
  return p;
}

PipelineStats DnaPipeline::run(const std::vector<std::string>& inputs, ResultSink& sink,
                               const std::atomic<bool>* stop) {
  Impl& m = *impl_;
  const auto t0 = std::chrono::steady_clock::now();
  PipelineStats stats;
  stats.inputs = int64_t(inputs.size());
  const int64_t nreaders = std::min<int64_t>(m.readers(), std::max<size_t>(inputs.size(), 1));
  const int64_t nbufs = m.in_flight(nreaders);
  const int64_t chunk = m.o.chunk, D = m.D;
  const TaskSpec& task = m.o.task;
  m.inputs_total = int64_t(inputs.size());
  m.inputs_done = 0;
  m.bases = 0;
  m.bytes_finished = 0;
  std::vector<int64_t> sizes;  // of the inputs, for progress (0: a pipe)
  for (const auto& in : inputs) sizes.push_back(input_size(in));
  m.bytes_total = std::accumulate(sizes.begin(), sizes.end(), int64_t(0));

  auto& tokens = m.tokens;  // nbufs <= tokens.size(): nreaders <= m.readers()
  BufferPool token_pool{static_cast<int>(nbufs)};
  constexpr int kHidden = Impl::kHidden;
  auto& hidden = m.hidden;
  BufferPool hidden_pool(kHidden);
  tbb::concurrent_bounded_queue<Chunk> queue;

  std::atomic<bool> fatal{false};
  std::mutex err_m;
  std::string fatal_message;
  auto set_fatal = [&](const std::string& msg) {
    std::lock_guard<std::mutex> lk(err_m);
    if (!fatal.exchange(true)) fatal_message = msg;
  };
  auto stopped = [&] { return (stop && stop->load()) || fatal.load(); };
  std::mutex stats_m;
  Orderer orderer(sink);

  std::function<void()> poke_writer;  // set once the graph exists

  // ---- readers ---------------------------------------------------------------------------
  std::atomic<int64_t> next_input{0};
  auto reader = [&] {
    for (;;) {
      const int64_t idx = next_input++;
      if (idx >= int64_t(inputs.size())) return;
      // Ordered output: results of inputs ahead of the one being written are held in memory,
      // so start an input only when it is within `nreaders` of that one.
      while (sink.ordered() && idx >= orderer.current_input() + nreaders && !stopped())
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      const std::string& path = inputs[size_t(idx)];
      const int64_t size = sizes[size_t(idx)];
      int64_t records = 0;
      std::shared_ptr<RecordStream> cur;
      int held = -1;
      int64_t held_n = 0;
      bool sent_any = false;
      auto send = [&](int buf, int64_t n, bool last, RecordEnd how) {
        Chunk c;
        c.stream = cur;
        c.buf = buf;
        c.n = n;
        c.first = !sent_any;
        c.last = last;
        c.end = how;
        sent_any = true;
        queue.push(std::move(c));
      };
      if (!stopped()) {
        try {
          auto src = m.o.open_source ? m.o.open_source(path) : open_sequence_source(path, m.o.source);
          {
            std::lock_guard<std::mutex> lk(m.progress_m);
            m.current = src->path();
            m.reading[idx] = {0.0, size};
          }
          auto note_progress = [&] {
            const int64_t t = src->bytes_total();
            std::lock_guard<std::mutex> lk(m.progress_m);
            m.reading[idx].first = t > 0 ? std::min(1.0, double(src->bytes_done()) / double(t)) : 0.0;
          };
          while (!stopped() && src->next_record()) {
            cur = std::make_shared<RecordStream>();
            cur->info = RecordInfo{path, src->name(), src->offset(), idx, records++};
            sent_any = false;
            held = token_pool.acquire(stopped);
            if (held < 0) { send(-1, 0, true, RecordEnd::Interrupted); cur.reset(); break; }
            held_n = 0;  // nothing valid in the buffer until the read returns
            held_n = int64_t(src->read(tokens[size_t(held)].data(), size_t(chunk)));
            for (;;) {
              note_progress();
              const int next = stopped() ? -1 : token_pool.acquire(stopped);
              if (next < 0) {  // stopped: what was read still goes through
                send(held, held_n, true, RecordEnd::Interrupted);
                held = -1;
                break;
              }
              int64_t n = 0;
              try {
                n = int64_t(src->read(tokens[size_t(next)].data(), size_t(chunk)));
              } catch (...) {
                token_pool.release(next);
                throw;
              }
              if (n == 0) {
                token_pool.release(next);
                send(held, held_n, true, RecordEnd::Complete);
                held = -1;
                break;
              }
              send(held, held_n, false, RecordEnd::Complete);
              held = next;
              held_n = n;
            }
            cur.reset();
          }
          if (records == 0 && !stopped()) fail(src->path(), ": empty input: no sequence records");
        } catch (const std::exception& e) {
          {
            std::lock_guard<std::mutex> lk(stats_m);
            stats.failures.push_back({display_path(path), e.what()});
          }
          if (cur) {
            if (held >= 0) {  // what was read before the error still goes through
              if (held_n > 0) send(held, held_n, false, RecordEnd::Complete);
              else token_pool.release(held);
              held = -1;
            }
            send(-1, 0, true, RecordEnd::Failed);
            cur.reset();
          }
        }
      }
      {
        std::lock_guard<std::mutex> lk(m.progress_m);
        m.reading.erase(idx);
      }
      m.bytes_finished += size;
      ++m.inputs_done;
      orderer.input_done(idx, records);
      poke_writer();  // the writer moves on past this input even if no result follows
    }
  };

  // ---- flow graph: head -> writer --------------------------------------------------------
  tbb::flow::graph g;
  const bool windowed = task.window > 0;
  const int64_t width = m.head ? m.head->labels() : D;
  tbb::flow::function_node<BatchPtr, BatchPtr> head_node(g, tbb::flow::serial, [&](BatchPtr b) {
    if (fatal.load()) return b;
    try {
      const size_t nc = b->chunks.size();
      b->windows.resize(nc);
      b->probs.resize(nc);
      const float* h = hidden[size_t(b->hidden)].data();
      tbb::parallel_for(size_t(0), nc, [&](size_t i) {
        Chunk& c = b->chunks[i];
        RecordStream& s = *c.stream;
        if (windowed) {
          if (c.first) s.pooler = std::make_unique<WindowPooler>(D, task.window, task.stride, task.pooling);
          s.pooler->push(h + b->row[i] * D, c.n, b->windows[i]);
          if (c.last && c.end == RecordEnd::Complete) s.pooler->finish(b->windows[i]);
          if (c.last) s.pooler.reset();
          if (m.head) {
            b->probs[i].resize(size_t(b->windows[i].size() * width));
            m.head->apply(b->windows[i].rows.data(), b->windows[i].size(), b->probs[i].data());
          }
        }
        s.length += c.n;
        c.length_after = s.length;
      });
    } catch (const std::exception& e) {
      set_fatal(e.what());
    }
    if (windowed) {
      hidden_pool.release(b->hidden);
      b->hidden = -1;
    }
    return b;
  });
  tbb::flow::function_node<BatchPtr> writer_node(g, tbb::flow::serial, [&](BatchPtr b) {
    if (!fatal.load()) {
      try {
        orderer.settle();
        for (size_t i = 0; i < b->chunks.size(); ++i) {
          const Chunk& c = b->chunks[i];
          if (c.first) orderer.begin(c.stream);
          if (windowed) {
            const auto& w = b->windows[i];
            orderer.windows(c.stream, w, m.head ? b->probs[i].data() : w.rows.data(), width);
          } else if (c.n > 0) {
            orderer.positions(c.stream, hidden[size_t(b->hidden)].data() + b->row[i] * D, c.n, D);
          }
          if (c.last) {
            orderer.end(c.stream, c.end, c.length_after);
            std::lock_guard<std::mutex> lk(stats_m);
            ++stats.records;
            stats.bases += c.length_after;
            if (c.end == RecordEnd::Interrupted)
              stats.incomplete.push_back(display_path(c.stream->info.input) +
                                         ": " + c.stream->info.name + " (stopped after " +
                                         std::to_string(c.length_after) + " bases)");
          }
        }
      } catch (const std::exception& e) {
        set_fatal(e.what());
      }
    }
    hidden_pool.release(b->hidden);
    return tbb::flow::continue_msg();
  });
  tbb::flow::make_edge(head_node, writer_node);
  poke_writer = [&] { writer_node.try_put(std::make_shared<Batch>()); };

  // ---- device thread ---------------------------------------------------------------------
  auto device = [&] {
    std::deque<Chunk> deferred;
    std::map<RecordStream*, int> deferred_count;
    bool readers_done = false;
    for (;;) {
      auto b = std::make_shared<Batch>();
      std::set<RecordStream*> in_batch, blocked;
      int64_t total = 0;
      auto fits = [&](const Chunk& c) {
        return !in_batch.count(c.stream.get()) && !blocked.count(c.stream.get()) &&
               (b->chunks.empty() || total + c.n <= m.budget);
      };
      auto add = [&](Chunk&& c) {
        in_batch.insert(c.stream.get());
        b->row.push_back(total);
        total += c.n;
        b->chunks.push_back(std::move(c));
      };
      for (auto it = deferred.begin(); it != deferred.end() && int64_t(b->chunks.size()) < m.o.batch;) {
        if (fits(*it)) {
          if (--deferred_count[it->stream.get()] == 0) deferred_count.erase(it->stream.get());
          add(std::move(*it));
          it = deferred.erase(it);
        } else {
          blocked.insert(it->stream.get());  // its later chunks must wait too
          ++it;
        }
      }
      while (int64_t(b->chunks.size()) < m.o.batch) {
        Chunk c;
        if (b->chunks.empty() && deferred.empty()) {
          if (readers_done) break;
          queue.pop(c);
        } else if (!queue.try_pop(c)) {
          break;
        }
        if (!c.stream) { readers_done = true; continue; }
        if (!deferred_count.count(c.stream.get()) && fits(c)) {
          add(std::move(c));
        } else {
          ++deferred_count[c.stream.get()];
          deferred.push_back(std::move(c));
        }
      }
      if (b->chunks.empty()) {
        if (readers_done && deferred.empty()) return;
        continue;
      }
      if (stop && stop->load()) {
        // Stopped: chunks not yet encoded are dropped (the records still end cleanly), so
        // Ctrl-C does not wait for the whole in-flight pool to go through the encoder.
        for (auto& c : b->chunks) {
          if (c.n > 0) c.stream->dropped = true;
          c.n = 0;
          if (c.last && c.stream->dropped) c.end = RecordEnd::Interrupted;  // its data did not all go through
        }
        std::fill(b->row.begin(), b->row.end(), 0);
        total = 0;
      }
      if (!fatal.load()) {
        try {
          b->hidden = hidden_pool.acquire([&] { return fatal.load(); });
          if (b->hidden >= 0) {
            std::vector<StreamChunk> work;
            for (size_t i = 0; i < b->chunks.size(); ++i) {
              Chunk& c = b->chunks[i];
              if (c.first) c.stream->state = m.enc->new_state();
              if (c.n > 0)
                work.push_back({tokens[size_t(c.buf)].data(), c.n, &c.stream->state,
                                hidden[size_t(b->hidden)].data() + b->row[i] * D});
            }
            m.enc->forward_batch(work);
            m.bases += total;
          }
        } catch (const std::exception& e) {
          set_fatal(e.what());
        }
      }
      for (auto& c : b->chunks) {
        token_pool.release(c.buf);
        c.buf = -1;
        if (c.last) c.stream->state = EncoderState{};  // closes the GPU slot
      }
      if (fatal.load()) {
        hidden_pool.release(b->hidden);
        continue;
      }
      head_node.try_put(b);
    }
  };

  g.reserve_wait();
  std::thread device_thread([&] {
    try {
      device();
    } catch (const std::exception& e) {  // e.g. out of memory building a batch
      set_fatal(e.what());
    }
    g.release_wait();
  });
  std::vector<std::thread> reader_threads;
  for (int64_t i = 0; i < nreaders; ++i) reader_threads.emplace_back(reader);
  std::thread closer([&] {
    for (auto& t : reader_threads) t.join();
    queue.push(Chunk{});  // every reader is done
  });
  // This thread works on the graph's tasks until the device thread is done and the graph is
  // empty (with --threads 1 there is no TBB worker: the nodes run here).
  g.wait_for_all();
  closer.join();
  device_thread.join();
  orderer.settle(/*all=*/true);
  if (fatal.load()) fail(fatal_message);
  sink.finish();
  stats.interrupted = stop && stop->load();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace mf
