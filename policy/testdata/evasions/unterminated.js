const s = "unterminated
