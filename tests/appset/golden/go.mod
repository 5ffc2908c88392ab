module tidegate.test/gotemplate-golden

go 1.22
