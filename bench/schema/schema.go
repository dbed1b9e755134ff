// Package schema holds the tables of the benchmark tooling's own, which the product's schema
// (migrations/) does not carry. sqlc reads the same .sql files as part of the schema of the
// tooling's queries (sqlc.yaml), and the tooling executes them from here, so each table is
// declared once.
package schema

import _ "embed"

// SeedStaging creates seed_chunk, the temporary table in which a seed chunk's transaction
// derives its interactions once (see the file). It is one statement, so it runs as a plain
// Exec, and must be run in the transaction that uses the table: the table is dropped at its
// commit.
//
//go:embed seed_staging.sql
var SeedStaging string
