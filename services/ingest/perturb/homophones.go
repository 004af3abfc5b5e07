package perturb

import (
	"math/rand/v2"
	"strings"
)

// homophoneTable maps common characters to ones that sound the same (or
// nearly) and that a hurried pinyin typist picks by mistake: 的/得/地,
// 在/再, 做/作, 以/已 and the like. Written for assay.
var homophoneTable = map[rune][]rune{
	'的': {'得', '地'}, '得': {'的'}, '地': {'的'},
	'在': {'再'}, '再': {'在'},
	'做': {'作'}, '作': {'做'},
	'以': {'已'}, '已': {'以'},
	'那': {'哪'}, '哪': {'那'},
	'他': {'她', '它'}, '她': {'他'}, '它': {'他'},
	'像': {'象'}, '象': {'像'},
	'进': {'近'}, '近': {'进'},
	'带': {'代'}, '代': {'带'},
	'坐': {'座'}, '座': {'坐'},
	'题': {'提'}, '提': {'题'},
	'到': {'道'}, '道': {'到'},
	'是': {'事'}, '事': {'是'},
	'期': {'其'}, '其': {'期'},
	'意': {'义'}, '义': {'意'},
	'须': {'需'}, '需': {'须'},
	'部': {'步'}, '步': {'部'},
	'力': {'利'}, '利': {'力'},
	'元': {'圆'}, '圆': {'元'},
	'及': {'级'}, '级': {'及'},
	'工': {'功'}, '功': {'工'},
	'机': {'几'}, '几': {'机'},
	'和': {'合'}, '合': {'和'},
	'为': {'未'}, '未': {'为'},
	'式': {'是'}, '时': {'是'},
	'应': {'因'}, '因': {'应'},
	'经': {'进'},
	'练': {'炼'}, '炼': {'练'},
	'园': {'元'}, '原': {'元'},
	'计': {'记'}, '记': {'计'},
	'试': {'是'}, '识': {'是'},
}

// homophones replaces about one in ten of the characters the table knows
// (at least one) with a sound-alike.
func homophones(rng *rand.Rand, text string) string {
	rs := []rune(text)
	var at []int
	for i, r := range rs {
		if _, ok := homophoneTable[r]; ok {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return text
	}
	n := max(1, len(at)/10)
	rng.Shuffle(len(at), func(i, j int) { at[i], at[j] = at[j], at[i] })
	for _, i := range at[:n] {
		subs := homophoneTable[rs[i]]
		rs[i] = subs[rng.IntN(len(subs))]
	}
	var b strings.Builder
	b.WriteString(string(rs))
	return b.String()
}
