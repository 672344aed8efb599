#include "sqlite.hpp"

#include <chrono>
#include <cmath>
#include <thread>

#include "descent/core/error.hpp"

namespace descent::tune::sql {

namespace {
[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw Error("study storage: " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}
}  // namespace

Database::Database(const std::filesystem::path& path, int busy_timeout_ms) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("study storage: cannot open " + path.string() + ": " + message);
  }
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  // Switching to WAL needs a moment alone with the file, and SQLite answers BUSY at once (without the busy
  // handler) when another process opens it at the same time: retry for as long as the busy timeout.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
  while (true) {
    const int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) break;
    if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || std::chrono::steady_clock::now() > give_up) {
      const std::string message = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error("study storage: " + path.string() + ": cannot switch to WAL mode: " + message);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // In WAL mode NORMAL keeps the database consistent after a crash of the process (the case a killed
  // study meets); FULL would add an fsync per commit for power-loss durability.
  execute("PRAGMA synchronous=NORMAL");
  execute("PRAGMA foreign_keys=ON");
}

Database::~Database() { sqlite3_close(db_); }

void Database::execute(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    throw Error("study storage: " + path_.string() + ": " + text + " (in: " + sql + ")");
  }
}

Statement::Statement(Database& db, const std::string& sql) : db_(db), sql_(sql) {
  if (sqlite3_prepare_v2(db.handle(), sql.c_str(), int(sql.size()), &stmt_, nullptr) != SQLITE_OK)
    fail(db.handle(), "preparing `" + sql + "`");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail(db_.handle(), "binding in `" + sql_ + "`");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  const int rc = std::isfinite(value) ? sqlite3_bind_double(stmt_, index, value) : sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) fail(db_.handle(), "binding in `" + sql_ + "`");
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), int(value.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    fail(db_.handle(), "binding in `" + sql_ + "`");
  return *this;
}

Statement& Statement::bind(int index, std::optional<double> value) {
  if (!value) {
    if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) fail(db_.handle(), "binding in `" + sql_ + "`");
    return *this;
  }
  return bind(index, *value);
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_.handle(), "running `" + sql_ + "`");
}

void Statement::run() {
  while (step()) {
  }
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }
double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }
std::optional<double> Statement::optional_real(int column) const {
  if (is_null(column)) return std::nullopt;
  return real(column);
}
std::string Statement::text(int column) const {
  const auto* bytes = sqlite3_column_text(stmt_, column);
  return bytes == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(bytes));
}

Transaction::Transaction(Database& db) : db_(db) { db_.execute("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.execute("COMMIT");
  done_ = true;
}

}  // namespace descent::tune::sql
