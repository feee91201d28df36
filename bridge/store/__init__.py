"""What writes: the database engine, the upserts and every write path of the receiver."""
