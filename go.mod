module github.com/vigilwiki/vigil

go 1.26
