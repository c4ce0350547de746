//! The SQLite redemption log. (Being built: see issue 4.)
