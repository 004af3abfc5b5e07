package dedup

import "testing"

// HumanEval/56 and /61 are one docstring with other brackets: two items.
const (
	angleDoc = `def correct_bracketing(brackets: str):
    """ brackets is a string of "<" and ">".
    return True if every opening bracket has a corresponding closing bracket.

    >>> correct_bracketing("<")
    False
    >>> correct_bracketing("<>")
    True
    >>> correct_bracketing("<<><>>")
    True
    >>> correct_bracketing("><<>")
    False
    """
`
	roundDoc = `def correct_bracketing(brackets: str):
    """ brackets is a string of "(" and ")".
    return True if every opening bracket has a corresponding closing bracket.

    >>> correct_bracketing("(")
    False
    >>> correct_bracketing("()")
    True
    >>> correct_bracketing("(()())")
    True
    >>> correct_bracketing(")(()")
    False
    """
`
)

func TestRule(t *testing.T) {
	const (
		q  = "Tom has 12 apples and gives 5 of them to his sister Mary. How many apples does Tom have left?"
		zh = "小明有12个苹果，给了妹妹5个。小明现在还有几个苹果？"
	)
	for _, c := range []struct {
		name string
		a, b string
		dup  bool
	}{
		// Distinct: a number, name, entity or symbol changed, at the
		// start, in the middle, at the end.
		{"number at the start", q, "Tom has 13 apples and gives 5 of them to his sister Mary. How many apples does Tom have left?", false},
		{"number in the middle", q, "Tom has 12 apples and gives 6 of them to his sister Mary. How many apples does Tom have left?", false},
		{"number word", "Seven cats sit on a mat. How many legs are on the mat?", "Eight cats sit on a mat. How many legs are on the mat?", false},
		{"number at the end", "Round the following number to the nearest hundred: 4,517", "Round the following number to the nearest hundred: 4,518", false},
		{"decimal", "What is 3.14 times two?", "What is 3.15 times two?", false},
		{"a quote that makes a formula text", "Typing '=SUM(B2:B9) in a cell shows the formula, not its value: why?",
			"Typing =SUM(B2:B9) in a cell shows the formula, not its value: why?", false},
		{"a quote before a word is prose", "He said 'hello there, friend' and left. What did he say?",
			"He said hello there, friend and left. What did he say?", true},
		{"name at the start", q, "Tim has 12 apples and gives 5 of them to his sister Mary. How many apples does Tim have left?", false},
		{"name in the middle", q, "Tom has 12 apples and gives 5 of them to his sister Mara. How many apples does Tom have left?", false},
		{"name differing by one letter", "Write a short biography of Anna Keller, a chemist from Zurich.", "Write a short biography of Anne Keller, a chemist from Zurich.", false},
		{"name opening a sentence", "Anna bought three books. How much did she spend?", "Anne bought three books. How much did she spend?", false},
		{"place at the end", "What is the population of the capital of Austria", "What is the population of the capital of Australia", false},
		{"entity in the middle", q, "Tom has 12 pears and gives 5 of them to his sister Mary. How many apples does Tom have left?", false},
		{"entity at the end", "Which planet in our solar system has the most known moons", "Which planet in our solar system has the most known rings", false},
		{"last word of twelve", "Which of these animals is the largest mammal that lives in the ocean", "Which of these animals is the largest mammal that lives in the desert", false},
		{"plural", "What is the average weight of an adult apple", "What is the average weight of an adult apples", false},
		{"negation", "Explain why the function can terminate on every input.", "Explain why the function cannot terminate on every input.", false},
		{"prefix", "Give an example of a possible outcome of the experiment.", "Give an example of an impossible outcome of the experiment.", false},
		{"added word", "Describe the water cycle for a reader of twelve.", "Describe the water cycle for a young reader of twelve.", false},
		{"maximum and minimum", "Find the maximize of f on the interval", "Find the minimize of f on the interval", false},
		{"operator", "Simplify (x + 1)^2 - 4", "Simplify (x - 1)^2 - 4", false},
		{"a dash in prose is punctuation", "Which of these planets stays closest to the Sun, on average, over a full year?", "which of these planets stays closest to the sun -- on average -- over a full year", true},
		{"a decrement is not a dash", "In C, what is the value of x after x = 3; x--; runs?", "In C, what is the value of x after x = 3; x; runs?", false},
		{"a command-line flag is not a dash", "What does the --force option of git push do?", "What does the force option of git push do?", false},
		{"comparison", "Return True if a <= b", "Return True if a >= b", false},
		{"currency", "A pen costs $5. How much do 3 pens cost?", "A pen costs €5. How much do 3 pens cost?", false},
		{"code", "What does print(len([1, 2, 3])) output?", "What does print(len([1, 2, 3, 4])) output?", false},
		{"HumanEval/56 and /61", angleDoc, roundDoc, false},
		{"date format", "Print today's date as YYYY-MM-DD.", "Print today's date as YYYY.MM.DD.", false},
		{"strftime format", "Format the date with strftime('%d.%m.%Y').", "Format the date with strftime('%d-%m-%Y').", false},
		{"file name", "Read the numbers from data.csv and print their sum.", "Read the numbers from data.tsv and print their sum.", false},
		{"snake_case identifier", "Write a function get_max(xs) that returns the largest element.", "Write a function get_mix(xs) that returns the largest element.", false},
		{"camelCase identifier", "Implement the method parseHeader(line) for the HTTP reader.", "Implement the method parseHeeder(line) for the HTTP reader.", false},
		{"digits swapped", "What is 43 times 73?", "What is 34 times 73?", false},
		{"numbers swapped", "What is 43 minus 73?", "What is 73 minus 43?", false},
		{"issue: Chinese number at the start", "43乘以73等于多少？请写出计算过程。", "11乘以73等于多少？请写出计算过程。", false},
		{"issue: English last word", "Please list three famous landmarks that tourists often visit in Paris", "Please list three famous landmarks that tourists often visit in Rome", false},
		{"Chinese number in the middle", zh, "小明有12个苹果，给了妹妹6个。小明现在还有几个苹果？", false},
		{"Chinese numeral", "请用三句话解释为什么天空是蓝色的。", "请用四句话解释为什么天空是蓝色的。", false},
		{"Chinese name", zh, "小红有12个苹果，给了妹妹5个。小红现在还有几个苹果？", false},
		{"Chinese entity at the end", zh, "小明有12个苹果，给了妹妹5个。小明现在还有几个梨？", false},
		{"Chinese opposite", "小明去商店买了一本书，花了多少钱？", "小明去商店卖了一本书，花了多少钱？", false},
		{"Chinese negation moved", "为什么他不能去学校？", "为什么他能不去学校？", false},
		{"Chinese characters swapped", "一只蜜蜂一天能采多少蜂蜜？", "一只蜂蜜一天能采多少蜂蜜？", false},
		{"Chinese name by a sound-alike", "李峰今年12岁，他的哥哥比他大3岁。", "李锋今年12岁，他的哥哥比他大3岁。", false},
		{"Chinese city", "从北京到上海的高铁要多久？", "从北京到南海的高铁要多久？", false},
		{"unrelated", "Explain how a refrigerator works.", "Explain how a heat pump works.", false},
		{"issue: a quoted separator", "Split the line with s.split(',') and count the fields.", "Split the line with s.split('.') and count the fields.", false},
		{"issue: a quoted character", "Count the character ',' in the text below.", "Count the character ';' in the text below.", false},
		{"a character in double quotes", `What does ", ".join(xs) return?`, `What does "; ".join(xs) return?`, false},
		{"a character in curly quotes", "Print “.” after each line.", "Print “,” after each line.", false},
		{"a quote in quotes", `What does print("'") output?`, `What does print('"') output?`, false},
		{"arguments", "What does f(x,y) return?", "What does f(x;y) return?", false},
		{"a ternary", "What is a?b:c when a is 0?", "What is a:b?c when a is 0?", false},
		{"inline code", "What does `a,b = b,a` do?", "What does `a;b = b;a` do?", false},
		{"a code fence", "What is printed?\n```\nprint('a:b'.split(':'))\n```", "What is printed?\n```\nprint('a:b'.split('?'))\n```", false},
		{"Chinese corner quotes", "统计这句话中「，」出现的次数。", "统计这句话中「；」出现的次数。", false},
		{"Chinese: a method call", "请解释 config.get(key) 的作用。", "请解释 config,get(key) 的作用。", false},
		{"a full-width separator in quotes", "How do I split the line on ',' in Python?", "How do I split the line on '，' in Python?", false},
		{"a full-width colon in code", "What does `=SUM(A1:A5)` return in Excel?", "What does `=SUM(A1：A5)` return in Excel?", false},
		{"a full-width bar in code", "`row.split('|')` 返回什么？", "`row.split('｜')` 返回什么？", false},
		{"a full-width separator in Chinese", "pandas读取时写sep=';'对吗？", "pandas读取时写sep='；'对吗？", false},
		{"case in a regex", "What does `re.findall(r'\\w+', s)` return?", "What does `re.findall(r'\\W+', s)` return?", false},
		{"case in a format", "`time.strftime('%M')` 输出什么？", "`time.strftime('%m')` 输出什么？", false},
		{"a space in a string in code", "What does `' '.join(['a', 'b'])` return?", "What does `''.join(['a', 'b'])` return?", false},
		{"a space in a quoted separator", "Split the line on ', ' and count the parts.", "Split the line on ',' and count the parts.", false},
		{"a slice", "For a = [5, 6, 7], what is a[2:]?", "For a = [5, 6, 7], what is a[2]?", false},
		{"a slice from the other end", "For a = [5, 6, 7], what is a[:2]?", "For a = [5, 6, 7], what is a[2:]?", false},
		{"a tuple of one", "What is the type of (7,) in Python?", "What is the type of (7) in Python?", false},

		// Code segments must be byte-identical (see segment.go).
		{"segment: a wide digit in a string", "What does int('１２') return in Python?", "What does int('12') return in Python?", false},
		{"segment: curly quotes in JSON", "Is `{“a”: 1}` valid JSON?", "Is `{\"a\": 1}` valid JSON?", false},
		{"segment: a space in a path", "What does rm -rf ./build/* delete?", "What does rm -rf ./build /* delete?", false},
		{"segment: spaces inside a Chinese quotation", "「 数据 」去掉首尾空格后有几个字符？", "「数据」去掉首尾空格后有几个字符？", false},
		{"segment: a CSV row in Chinese", "CSV 行 李四,上海,浦东,30 有几列？", "CSV 行 李四,上海，浦东,30 有几列？", false},
		{"segment: prose around a bare token", "In Python, what does x[::-1] return?", "in python what does x[::-1] return", true},
		{"segment: an abbreviation", "Name a prime number, e.g. 7, and explain why.", "name a prime number e.g 7 and explain why", true},
		{"segment: a number in prose", "A pen costs $1.50. How much do 12 pens cost?", "A pen costs $１.５０, how much do １２ pens cost", true},
		{"segment: a quoted prose word", "Do not use the word “leaf” in the poem.", "Do not use the word 「leaf」 in the poem!", true},

		// Near-duplicates: spacing, punctuation, case, width, a typo.
		{"itself", q, q, true},
		{"spacing", q, "  Tom has 12 apples and gives 5 of them\tto his sister Mary.\n\nHow many apples does Tom have left?  ", true},
		{"punctuation", q, "Tom has 12 apples, and gives 5 of them to his sister Mary; how many apples does Tom have left", true},
		{"case", q, "TOM HAS 12 APPLES AND GIVES 5 OF THEM TO HIS SISTER MARY. HOW MANY APPLES DOES TOM HAVE LEFT?", true},
		{"lower case", q, "tom has 12 apples and gives 5 of them to his sister mary. how many apples does tom have left?", true},
		{"width", q, "Ｔｏｍ ｈａｓ １２ ａｐｐｌｅｓ ａｎｄ ｇｉｖｅｓ ５ ｏｆ ｔｈｅｍ ｔｏ ｈｉｓ ｓｉｓｔｅｒ Ｍａｒｙ． Ｈｏｗ ｍａｎｙ ａｐｐｌｅｓ ｄｏｅｓ Ｔｏｍ ｈａｖｅ ｌｅｆｔ？", true},
		{"swapped letters", q, "Tom has 12 apples and gives 5 of them to his sitser Mary. How many apples does Tom have left?", true},
		{"dropped letter", q, "Tom has 12 apples and gives 5 of them to his sister Mary. How many aples does Tom have left?", true},
		{"doubled letter", q, "Tom has 12 apples and gives 5 of them to his sisster Mary. How many apples does Tom have left?", true},
		{"wrong letter", q, "Tom has 12 apples and gives 5 of them to his sistor Mary. How many apples does Tom have left?", true},
		{"typo in the opening word", "Which planet in our solar system has the most known moons?", "Whcih planet in our solar system has the most known moons?", true},
		{"two typos", "Describe the process by which plants convert sunlight into chemical energy.", "Describe the proccess by which plants convert sunlihgt into chemical energy.", true},
		{"apostrophe", "Why doesn't the moon fall onto the earth?", "Why doesnt the moon fall onto the earth", true},
		{"hyphen", "Explain what a well-known email scam looks like.", "Explain what a well known e-mail scam looks like.", true},
		{"merged words", "Explain why the program can not read the file.", "Explain why the program cannot read the file.", true},
		{"code respaced", "Return True if a<=b and f(x)!=0", "Return True if a <= b and f( x ) != 0", false},
		{"HumanEval/56 reformatted", angleDoc, "def correct_bracketing(brackets: str):\n\t\"\"\" brackets is a string of \"<\" and \">\". return True if every opening bracket has a corresponding closing bracket. >>> correct_bracketing(\"<\") False >>> correct_bracketing(\"<>\") True >>> correct_bracketing(\"<<><>>\") True >>> correct_bracketing(\"><<>\") False \"\"\"", true},
		{"Chinese punctuation", zh, "小明有12个苹果,给了妹妹5个.小明现在还有几个苹果?", true},
		{"Chinese width", zh, "小明有１２个苹果，给了妹妹５个。小明现在还有几个苹果？", true},
		{"Chinese spacing", zh, "小明 有 12 个苹果， 给了妹妹 5 个。 小明现在还有几个苹果？", true},
		{"Chinese sound-alike", "请解释为什么天空在白天看起来是蓝色的。", "请解释为什么天空再白天看起来是蓝色的。", true},
		{"Chinese look-alike", "他已经完成了自己的作业吗？", "他己经完成了自己的作业吗？", true},
		{"typo in a shouted copy", "Explain the difference between a list and a tuple in Python.", "EXPLAIN THE DIFFERENCE BETWEEN A LIST AND A TUPLE IN PYTHON, PLAESE", false},
		{"typo in a shouted copy of the same", "Explain the difference between a list and a tuple in Python, please.", "EXPLAIN THE DIFFERENCE BETWEEN A LIST AND A TUPLE IN PYTHON, PLAESE", true},
		{"typo in a short question", "Explain recursion.", "Explian recursion", true},
		{"Chinese typo in a short question", "你在哪里？", "你再哪里", true},
		{"mixed", "用Python写一个函数，返回列表中第k小的元素。", "用 python 写一个函数,返回列表中第k小的元素", true},
		{"punctuation inside a quotation", `The teacher said, "Read it twice, then answer." What did she ask?`, "The teacher said “Read it twice then answer”. What did she ask?", true},
		{"a quoted literal in other quotes", "Count the character ',' in the text.", "Count the character ‘,’ in the text!", true},
		{"a possessive in quotes", `He wrote "the students' books, and the teacher's pen."`, "He wrote “the students’ books and the teacher’s pen”", true},
		{"spacing around code", "What does `line.split(\":\")` return for \"a:b\"?", "What does  `line.split(\":\")`  return for \"a:b\" ?", true},
		{"Chinese quotation", "他说：“今天风很大，我们改天再去吧。”", "他说：「今天风很大我们改天再去吧」", true},
		{"Chinese quotes of a literal", "统计这句话中“，”出现的次数。", "统计这句话中「，」出现的次数", true},
		{"width in prose", "请计算12+5的结果，写出过程。", "请计算１２＋５的结果,写出过程。", true},
		{"width in a Chinese quotation", "把字符串中的「:」换成「-」。", "把字符串中的「：」换成「－」。", true},
		{"case in shouted code", "Write `parse_line(s)` in Python.", "WRITE `PARSE_LINE(S)` IN PYTHON.", true},
		{"spacing in code", "What does `len( s )` return?", "What does  `len(s)` return ?", false},
		{"spaces around inline code", "What does `len(s)` return?", "What does  `len(s)`   return ?", true},
		{"Chinese typos near code", "`sorted(xs, key=abs)`按什么规则排序，结果和预期一样吗？", "`sorted(xs, key=abs)`按什么规侧排序，结果和豫期一样吗？", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, ab := range [][2]string{{c.a, c.b}, {c.b, c.a}} {
				m, dup := Compare(ab[0], ab[1], DefaultMinSimilarity)
				if dup != c.dup {
					t.Errorf("Compare(%q, %q) = %+v, %v; want near-duplicate %v", ab[0], ab[1], m, dup, c.dup)
				}
				if dup && !(m.Similarity > 0 && m.Similarity <= 1) || dup && m.Why == "" {
					t.Errorf("Compare(%q, %q) = %+v", ab[0], ab[1], m)
				}
				x := NewIndex(DefaultMinSimilarity)
				x.Add(ab[0])
				if m2, dup2 := x.Add(ab[1]); dup2 != c.dup || dup2 && m2 != m {
					t.Errorf("index: %+v, %v; Compare: %+v, %v", m2, dup2, m, dup)
				}
			}
		})
	}
}

func TestExactOnly(t *testing.T) {
	const q = "Which planet in our solar system has the most known moons?"
	for _, c := range []struct {
		b   string
		dup bool
	}{
		{"which planet in our SOLAR system has the most known moons", true},
		{"Which planet in our solar system has the most knwon moons?", false},
	} {
		if _, dup := Compare(q, c.b, 1); dup != c.dup {
			t.Errorf("at similarity 1, %q: near-duplicate %v, want %v", c.b, dup, c.dup)
		}
		x := NewIndex(1)
		x.Add(q)
		if _, dup := x.Add(c.b); dup != c.dup {
			t.Errorf("index at similarity 1, %q: near-duplicate %v, want %v", c.b, dup, c.dup)
		}
	}
}

// TestIndexKeepsFirst: the first of a group is kept and named as the twin
// of each later copy, also of a copy of a copy.
func TestIndexKeepsFirst(t *testing.T) {
	x := NewIndex(0)
	for i, c := range []struct {
		text string
		twin int // -1: kept
	}{
		{"Describe how the water cycle moves water from the sea to the clouds and back.", -1},
		{"Explain how a refrigerator moves heat from its inside to the room around it.", -1},
		{"describe how the water cycle moves water from the sea to the clouds and back", 0},
		{"Describe how the water cycle moves water from the sea to the clouds and back!", 0},
		{"Explain how a refrigerator moves heat from its insdie to the room around it.", 1},
		{"Describe how the water cycle moves water from the lake to the clouds and back.", -1},
	} {
		m, dup := x.Add(c.text)
		if got := map[bool]int{false: -1, true: m.Twin}[dup]; got != c.twin {
			t.Errorf("text %d: twin %d (%+v), want %d", i, got, m, c.twin)
		}
	}
	if x.Len() != 3 {
		t.Errorf("%d kept, want 3", x.Len())
	}
}

// TestIndexTemplated: in a templated suite (prompts that share most of
// their words and differ in numbers and names), every planted copy is
// found and no prompt is dropped but for a copy or an exact repeat.
func TestIndexTemplated(t *testing.T) {
	prompts, planted := templatedSuite(20_000)
	x := NewIndex(DefaultMinSimilarity)
	var kept []string
	for i, p := range prompts {
		m, dup := x.Add(p)
		switch {
		case !dup:
			kept = append(kept, p)
			if planted[i] {
				t.Errorf("copy %d not found: %q", i, p)
			}
		case !planted[i] && kept[m.Twin] != p:
			t.Errorf("prompt %d dropped as a near-duplicate of %q (%+v): %q", i, kept[m.Twin], m, p)
		}
	}
}
