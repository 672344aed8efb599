#pragma once
// A thin RAII layer over the SQLite C API for the study storage: one connection, prepared statements
// with positional binding, and transactions that roll back when an exception leaves their scope.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace descent::tune::sql {

class Database {
 public:
  // Opens (creating) the file in WAL mode with a busy timeout, so that several processes can share it:
  // a writer waits up to `busy_timeout_ms` for another writer instead of failing.
  explicit Database(const std::filesystem::path& path, int busy_timeout_ms = 60000);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void execute(const std::string& sql);
  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

class Statement {
 public:
  Statement(Database& db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds parameter `index` (1-based); a missing optional binds NULL, as does a non-finite double
  // (SQLite has no NaN).
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, std::optional<double> value);
  // Advances to the next row; false when done. Errors throw naming the statement.
  bool step();
  // step() for statements without rows.
  void run();

  bool is_null(int column) const;
  std::int64_t integer(int column) const;
  double real(int column) const;
  std::optional<double> optional_real(int column) const;
  std::string text(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// BEGIN IMMEDIATE (takes the write lock at once, so read-then-write sequences such as claiming a trial
// are atomic across processes); commit() or rollback at destruction.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace descent::tune::sql
