#include "io/results.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "io/npy.h"
#include "ops/error.h"

namespace fs = std::filesystem;

namespace mf {

namespace {

// A text output written in whole lines: a file is written under a temporary name and renamed
// into place by commit(); "-" is standard output.
class TextOut {
 public:
  explicit TextOut(std::string path) : path_(std::move(path)) {
    if (path_ == "-") { f_ = stdout; return; }
    tmp_ = path_ + ".partial";
    f_ = std::fopen(tmp_.c_str(), "w");
    if (!f_) fail(path_, ": cannot create: ", std::strerror(errno));
  }
  ~TextOut() {
    if (f_ && f_ != stdout) {
      std::fclose(f_);
      std::remove(tmp_.c_str());
    }
  }
  TextOut(const TextOut&) = delete;
  TextOut& operator=(const TextOut&) = delete;

  void line(const std::string& s) {  // s ends with '\n'
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size())
      fail(path_ == "-" ? std::string("standard output") : path_, ": write error: ", std::strerror(errno));
  }
  void flush() { std::fflush(f_); }
  void commit() {
    if (f_ == stdout) { std::fflush(stdout); return; }
    if (!f_) return;
    const bool bad = std::fflush(f_) != 0 || std::ferror(f_);
    std::fclose(f_);
    f_ = nullptr;
    if (bad || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      std::remove(tmp_.c_str());
      fail(path_, ": cannot write: ", std::strerror(errno));
    }
  }

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

std::string fmt_prob(float p) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", double(p));
  return b;
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') { o += '\\'; o += char(c); }
    else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); o += b; }
    else o += char(c);
  }
  return o + "\"";
}

class TableSink final : public ResultSink {
 public:
  explicit TableSink(const TableOptions& o) : o_(o) {
    const size_t K = o_.labels.size();
    if (o_.task == Task::Tag && o_.thresholds.size() != K) o_.thresholds.assign(K, 0.5f);
    if (o_.format == TableFormat::BedGraph) {
      if (o_.output == "-") fail("--format bedgraph writes one file per label: give -o PREFIX (files PREFIX.LABEL.bedGraph)");
      std::vector<std::string> chosen = o_.tracks.empty() ? o_.labels : o_.tracks;
      for (const auto& t : chosen) {
        size_t k = 0;
        while (k < K && o_.labels[k] != t) ++k;
        if (k == K) fail("--track '", t, "' is not one of the model's labels");
        std::string safe;
        for (unsigned char c : t) safe += (std::isalnum(c) || c == '.' || c == '-' || c == '_') ? char(c) : '_';
        auto out = std::make_unique<TextOut>(o_.output + "." + safe + ".bedGraph");
        out->line("track type=bedGraph name=" + json_string(t) + " description=" +
                  json_string("mambaflow " + std::string(task_name(o_.task)) + " probability of " + t) + "\n");
        tracks_.push_back({k, std::move(out)});
      }
      return;
    }
    out_ = std::make_unique<TextOut>(o_.output);
    if (o_.format == TableFormat::Tsv) {
      std::string h = "#record\tstart\tend\tlabel\tscore";
      for (const auto& l : o_.labels) h += "\t" + l;
      out_->line(h + "\n");
    }
  }

  void windows(const RecordInfo& r, const WindowValues& w) override {
    const int64_t K = int64_t(o_.labels.size());
    if (w.width != K) fail("internal: ", w.width, " values per window for ", K, " labels");
    std::string s;
    for (int64_t i = 0; i < w.n; ++i) {
      const float* p = w.values + i * K;
      const int64_t start = r.offset + w.start[i], end = r.offset + w.end[i];
      const std::string coords = std::to_string(start) + "\t" + std::to_string(end);
      // Called labels: classify -> argmax; tag -> every label at or above its threshold.
      int64_t best = 0;
      for (int64_t k = 1; k < K; ++k)
        if (p[k] > p[best]) best = k;
      std::vector<int64_t> called;
      if (o_.task == Task::Classify) called.push_back(best);
      else
        for (int64_t k = 0; k < K; ++k)
          if (p[k] >= o_.thresholds[size_t(k)]) called.push_back(k);
      switch (o_.format) {
        case TableFormat::Tsv: {
          std::string names, score = called.empty() ? fmt_prob(p[best]) : fmt_prob(p[called[0]]);
          for (size_t j = 0; j < called.size(); ++j) names += (j ? "," : "") + o_.labels[size_t(called[j])];
          if (o_.task == Task::Tag && called.size() > 1) {
            float m = 0;
            for (auto k : called) m = std::max(m, p[k]);
            score = fmt_prob(m);
          }
          s += r.name + "\t" + coords + "\t" + (names.empty() ? "." : names) + "\t" + score;
          for (int64_t k = 0; k < K; ++k) s += "\t" + fmt_prob(p[k]);
          s += "\n";
          break;
        }
        case TableFormat::Jsonl: {
          s += "{\"record\":" + json_string(r.name) + ",\"start\":" + std::to_string(start) +
               ",\"end\":" + std::to_string(end);
          if (o_.task == Task::Classify) {
            s += ",\"label\":" + json_string(o_.labels[size_t(best)]) + ",\"score\":" + fmt_prob(p[best]);
          } else {
            s += ",\"labels\":[";
            for (size_t j = 0; j < called.size(); ++j) s += (j ? "," : "") + json_string(o_.labels[size_t(called[j])]);
            s += "]";
          }
          s += ",\"probs\":{";
          for (int64_t k = 0; k < K; ++k) s += (k ? "," : "") + json_string(o_.labels[size_t(k)]) + ":" + fmt_prob(p[k]);
          s += "}}\n";
          break;
        }
        case TableFormat::Bed:
          for (auto k : called) {
            const long score = std::lround(double(p[k]) * 1000.0);
            s += r.name + "\t" + coords + "\t" + o_.labels[size_t(k)] + "\t" + std::to_string(score) + "\t.\n";
          }
          break;
        case TableFormat::BedGraph:
          for (auto& t : tracks_) {
            const int64_t step_end = std::min(end, start + (o_.stride > 0 ? o_.stride : end - start));
            t.out->line(r.name + "\t" + std::to_string(start) + "\t" + std::to_string(step_end) + "\t" +
                        fmt_prob(p[t.label]) + "\n");
          }
          break;
      }
    }
    if (!s.empty()) out_->line(s);
  }

  void end_record(const RecordInfo&, RecordEnd, int64_t) override {
    if (out_) out_->flush();
    for (auto& t : tracks_) t.out->flush();
  }

  void finish() override {
    if (out_) out_->commit();
    for (auto& t : tracks_) t.out->commit();
  }

 private:
  struct Track {
    size_t label;
    std::unique_ptr<TextOut> out;
  };
  TableOptions o_;
  std::unique_ptr<TextOut> out_;
  std::vector<Track> tracks_;
};

class EventSink final : public ResultSink {
 public:
  explicit EventSink(const EventOptions& o) : o_(o), out_(o.output) {
    const size_t K = o_.labels.size();
    if (o_.format != TableFormat::Tsv && o_.format != TableFormat::Jsonl)
      fail("audio tag events are written as tsv or jsonl");
    if (o_.thresholds.size() != K) o_.thresholds.assign(K, 0.5f);
    if (o_.off_thresholds.size() != K) o_.off_thresholds = o_.thresholds;
    if (o_.format == TableFormat::Tsv) out_.line("#file\tstart\tend\tlabel\tscore\n");
  }
  void begin_record(const RecordInfo&) override { open_.assign(o_.labels.size(), Open{}); }
  void windows(const RecordInfo& r, const WindowValues& w) override {
    const size_t K = o_.labels.size();
    std::string s;
    for (int64_t i = 0; i < w.n; ++i)
      for (size_t k = 0; k < K; ++k) {
        const float p = w.values[size_t(i) * K + k];
        Open& e = open_[k];
        if (e.on && p >= o_.off_thresholds[k]) {
          e.end = w.end[i];
          e.score = std::max(e.score, p);
        } else if (e.on) {
          s += event(r, k);
          e.on = false;
        }
        if (!e.on && p >= o_.thresholds[k]) e = Open{true, w.start[i], w.end[i], p};
      }
    if (!s.empty()) { out_.line(s); out_.flush(); }
  }
  void end_record(const RecordInfo& r, RecordEnd, int64_t) override {
    std::string s;
    for (size_t k = 0; k < open_.size(); ++k)
      if (open_[k].on) { s += event(r, k); open_[k].on = false; }
    if (!s.empty()) out_.line(s);
    out_.flush();
  }
  void finish() override { out_.commit(); }

 private:
  struct Open {
    bool on = false;
    int64_t start = 0, end = 0;
    float score = 0;
  };
  std::string event(const RecordInfo& r, size_t k) const {
    const Open& e = open_[k];
    char t[64];
    std::snprintf(t, sizeof t, "%.3f", double(r.offset + e.start) / o_.rate);
    const std::string start = t;
    std::snprintf(t, sizeof t, "%.3f", double(r.offset + e.end) / o_.rate);
    const std::string end = t;
    if (o_.format == TableFormat::Tsv)
      return r.name + "\t" + start + "\t" + end + "\t" + o_.labels[k] + "\t" + fmt_prob(e.score) + "\n";
    return "{\"file\":" + json_string(r.name) + ",\"start\":" + start + ",\"end\":" + end +
           ",\"label\":" + json_string(o_.labels[k]) + ",\"score\":" + fmt_prob(e.score) + "}\n";
  }
  EventOptions o_;
  TextOut out_;
  std::vector<Open> open_;
};

// A file name for a record: its name with anything but [A-Za-z0-9._-] replaced by '_'.
std::string file_name_for(const std::string& record, std::set<std::string>& used) {
  std::string base;
  for (unsigned char c : record) base += (std::isalnum(c) || c == '.' || c == '_' || c == '-') ? char(c) : '_';
  if (base.empty() || base[0] == '.') base = "_" + base;
  std::string name = base;
  for (int i = 2; used.count(name); ++i) name = base + "_" + std::to_string(i);
  used.insert(name);
  return name + ".npy";
}

class NpySink final : public ResultSink {
 public:
  NpySink(std::string output, int64_t width) : out_(std::move(output)), width_(width) {
    single_ = out_.size() > 4 && out_.compare(out_.size() - 4, 4, ".npy") == 0;
    if (!single_) {
      std::error_code ec;
      fs::create_directories(out_, ec);
      if (ec || !fs::is_directory(out_)) fail(out_, ": cannot create the output directory");
    }
  }
  bool ordered() const override { return false; }

  void begin_record(const RecordInfo& r) override {
    if (single_ && ++records_ > 1)
      fail(r.input, " holds more than one record ('", first_, "', '", r.name,
           "', ...): give -o a directory to write one .npy per record");
    if (single_) first_ = r.name;
    const std::string path = single_ ? out_ : (fs::path(out_) / file_name_for(r.name, used_)).string();
    open_[key(r)] = std::make_unique<NpyWriter>(path, width_);
  }
  void windows(const RecordInfo& r, const WindowValues& w) override { writer(r).append(w.values, w.n); }
  void positions(const RecordInfo& r, const float* rows, int64_t n, int64_t) override { writer(r).append(rows, n); }
  void end_record(const RecordInfo& r, RecordEnd how, int64_t) override {
    auto it = open_.find(key(r));
    if (it == open_.end()) return;
    if (how != RecordEnd::Complete) { open_.erase(it); return; }  // the .partial file is removed
    if (it->second->rows() == 0)
      std::fprintf(stderr, "mambaflow: warning: %s: record '%s' is empty (wrote shape [0, %lld])\n",
                   r.input.c_str(), r.name.c_str(), (long long)width_);
    if (single_) { pending_ = std::move(it->second); open_.erase(it); return; }
    it->second->commit();
    open_.erase(it);
  }
  void finish() override {
    if (pending_) pending_->commit();
  }

 private:
  static std::pair<int64_t, int64_t> key(const RecordInfo& r) { return {r.input_index, r.record_index}; }
  NpyWriter& writer(const RecordInfo& r) {
    auto it = open_.find(key(r));
    if (it == open_.end()) fail("internal: results for record '", r.name, "' before it began");
    return *it->second;
  }
  std::string out_;
  int64_t width_;
  bool single_ = false;
  int64_t records_ = 0;
  std::string first_;
  std::set<std::string> used_;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<NpyWriter>> open_;
  std::unique_ptr<NpyWriter> pending_;
};

}  // namespace

TableFormat parse_table_format(const std::string& name) {
  if (name == "tsv") return TableFormat::Tsv;
  if (name == "jsonl") return TableFormat::Jsonl;
  if (name == "bed") return TableFormat::Bed;
  if (name == "bedgraph") return TableFormat::BedGraph;
  fail("format '", name, "' is not one of tsv, jsonl, bed, bedgraph");
}

std::unique_ptr<ResultSink> make_table_sink(const TableOptions& options) {
  return std::make_unique<TableSink>(options);
}

std::unique_ptr<ResultSink> make_event_sink(const EventOptions& options) {
  return std::make_unique<EventSink>(options);
}

std::unique_ptr<ResultSink> make_npy_sink(const std::string& output, int64_t width) {
  return std::make_unique<NpySink>(output, width);
}

}  // namespace mf
