package dedup

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf8"
)

// templatedSuite returns n prompts made the way large benchmark suites are:
// a few templates (English and Chinese, word problems, arithmetic, code,
// retrieval) filled with numbers, names, places and items, with about 3 %
// of them near-duplicates of an earlier prompt (other case, spacing,
// punctuation, width, or one typo), marked in planted. The suite is the
// same on every run.
func templatedSuite(n int) (prompts []string, planted []bool) {
	r := rand.New(rand.NewPCG(9, uint64(n)))
	num := func(hi int) string { return strconv.Itoa(1 + r.IntN(hi)) }
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	templates := []func() string{
		func() string {
			name := pick(enNames)
			return name + " has " + num(500) + " " + pick(enItems) + " and buys " + num(200) + " more at the market in " + pick(enCities) +
				". How many " + pick(enItems) + " does " + name + " have now? Explain your reasoning step by step."
		},
		func() string {
			return "A train leaves " + pick(enCities) + " at " + num(12) + ":" + strconv.Itoa(10+r.IntN(50)) + " and travels " + num(900) +
				" km at an average speed of " + num(300) + " km/h. At what time does it arrive in " + pick(enCities) + "?"
		},
		func() string {
			return "Write a Python function `" + pick(enFuncs) + "(xs)` that returns the " + num(20) + "-th smallest " + pick(enKinds) +
				" of a list of integers, or " + strconv.Itoa(-r.IntN(10)) + " when the list has fewer than " + num(50) + " elements."
		},
		func() string {
			return "Summarise the following support ticket from " + pick(enNames) + " " + pick(enSurnames) + " in one sentence: order #" +
				strconv.Itoa(10000+r.IntN(900000)) + " arrived " + num(30) + " days late and the " + pick(enItems) + " were damaged."
		},
		func() string {
			name := pick(zhNames)
			return name + "有" + num(500) + "个" + pick(zhItems) + "，又在" + pick(zhCities) + "的市场上买了" + num(200) + "个。" + name + "现在一共有多少个" + pick(zhItems) + "？请写出计算过程。"
		},
		func() string {
			return num(999) + "乘以" + num(999) + "等于多少？请先估算，再写出竖式计算的每一步。"
		},
		func() string {
			return "从" + pick(zhCities) + "到" + pick(zhCities) + "的高铁全程" + num(2000) + "公里，列车平均时速" + num(350) + "公里，大约需要几个小时？"
		},
		func() string { // no number at all: only the names vary
			return "Write a short biography of " + pick(enNames) + " " + pick(enSurnames) + ", a " + pick(enJobs) + " from " + pick(enCities) +
				", focusing on their early life and first job."
		},
	}
	for len(prompts) < n {
		if len(prompts) > 10 && r.IntN(100) < 3 {
			prompts = append(prompts, nearCopy(r, prompts[r.IntN(len(prompts))]))
			planted = append(planted, true)
			continue
		}
		prompts = append(prompts, templates[r.IntN(len(templates))]())
		planted = append(planted, false)
	}
	return prompts, planted
}

// nearCopy is text with one change a near-duplicate check must see
// through.
func nearCopy(r *rand.Rand, text string) string {
	switch r.IntN(5) {
	case 0:
		return strings.ToUpper(text)
	case 1:
		return strings.ReplaceAll(text, " ", "  ")
	case 2:
		return strings.NewReplacer("?", "", ".", " .", "，", ",", "。", ".").Replace(text) + "!"
	case 3:
		return wide(text)
	}
	// One typo: two inner letters of a long lower-case word swapped.
	words := strings.Split(text, " ")
	for range 20 {
		i := r.IntN(len(words))
		w := words[i]
		if len(w) >= 6 && strings.ToLower(w) == w && isLetters(w) {
			j := 1 + r.IntN(len(w)-3)
			words[i] = w[:j] + w[j+1:j+2] + w[j:j+1] + w[j+2:]
			return strings.Join(words, " ")
		}
	}
	return wide(text)
}

func isLetters(w string) bool {
	for _, c := range w {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// wide writes ASCII letters and digits in their full-width forms.
func wide(text string) string {
	var b strings.Builder
	for _, c := range text {
		if c > ' ' && c < utf8.RuneSelf && (c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			c += 0xFF01 - '!'
		}
		b.WriteRune(c)
	}
	return b.String()
}

var (
	enNames    = []string{"Alice", "Bob", "Carol", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kate", "Liam", "Mina", "Noah", "Olga", "Pedro", "Quinn", "Ravi", "Sofia", "Tom", "Uma", "Victor", "Wen", "Xavier", "Yara", "Zoe", "Anna", "Anne", "Ivan", "Lena", "Marco", "Nadia", "Omar", "Priya", "Sara", "Tariq"}
	enSurnames = []string{"Smith", "Garcia", "Chen", "Okafor", "Müller", "Rossi", "Tanaka", "Kowalski", "Haddad", "Silva", "Nguyen", "Johansson", "Dubois", "Patel", "Ivanova", "Cohen", "Murphy", "Kim", "Lopez", "Novak"}
	enCities   = []string{"Paris", "Lyon", "Berlin", "Munich", "Madrid", "Lisbon", "Rome", "Milan", "Vienna", "Prague", "Warsaw", "Oslo", "Dublin", "Leeds", "Boston", "Denver", "Austin", "Toronto", "Osaka", "Seoul", "Delhi", "Cairo", "Lagos", "Lima"}
	enItems    = []string{"apples", "pears", "books", "pencils", "stamps", "marbles", "cookies", "lemons", "tickets", "candles", "bottles", "shirts"}
	enFuncs    = []string{"kth_smallest", "select", "nth_value", "pick", "order_stat"}
	enKinds    = []string{"even number", "odd number", "prime", "square", "value", "distinct value"}
	enJobs     = []string{"nurse", "carpenter", "pilot", "teacher", "chemist", "farmer", "violinist", "baker", "engineer", "lawyer"}
	zhNames    = []string{"小明", "小红", "小刚", "小丽", "张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏"}
	zhItems    = []string{"苹果", "梨", "橘子", "铅笔", "本子", "气球", "鸡蛋", "面包"}
	zhCities   = []string{"北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京", "重庆"}
)
